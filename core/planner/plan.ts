import { parseSparkiConfig } from "../config/index.ts";
import type { SparkiConfig } from "../config/schema.ts";
import { detect, memoryTree } from "../detect/index.ts";
import { generatePipeline } from "../pipeline/index.ts";
import type { PlanOutcome, PlanRequest } from "./contract.ts";

/**
 * A snapshot's pipeline: its sparki.yml checked first (a broken one plans nothing), the stack
 * detected unless a detection is given, then the pipeline generated from both.
 */
export async function plan(request: PlanRequest): Promise<PlanOutcome> {
  const tree = memoryTree(Object.fromEntries(request.files.map((f) => [f.path, f.content])));
  let config: SparkiConfig | undefined;
  if (request.configPath !== null) {
    const text = request.files.find((f) => f.path === request.configPath)?.content ?? "";
    const parsed = parseSparkiConfig(text);
    if (!parsed.ok) return { ok: false, issues: parsed.issues };
    config = parsed.config;
  }
  const detection = request.detection ?? (await detect(tree));
  const pipeline = await generatePipeline({ detection, config, tree, name: request.name });
  return { ok: true, detection, pipeline };
}
