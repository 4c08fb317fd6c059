/**
 * A build's plan job: in the fresh checkout, run the detector and read sparki.yml, then
 * upload the resulting pipeline. Runs on the runner so the pipeline always matches the commit
 * and no repository has to be readable from the edge. A sparki.yml with errors fails the job
 * with every error (line and column) in the log; so does a plan of no jobs, with the reason
 * `sparki detect` gives.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fsTree } from "../node/fs-tree.ts";
import type { Job } from "../core/contracts/runner.ts";
import { formatConfigIssues, parseSparkiConfig } from "../core/config/index.ts";
import { detect } from "../core/detect/index.ts";
import { generatePipeline } from "../core/pipeline/index.ts";
import { nothingToRunReason } from "../core/pipeline/nothing-to-run.ts";
import { retry } from "./backoff.ts";
import { transientRetry, type ControlPlaneClient } from "./client.ts";
import type { OutputSink } from "./logs.ts";
import type { SparkiConfig } from "../core/config/schema.ts";

/** The plan's outcome: the pipeline was accepted, or why not (already in the log). */
export type PlanResult = { ok: true; jobs: number } | { ok: false; error: string };

/** Plans the build from the checkout in `dir` and uploads the pipeline. */
export async function planBuild(
  client: ControlPlaneClient,
  job: Job,
  dir: string,
  commitSha: string,
  output: OutputSink,
  signal: AbortSignal,
): Promise<PlanResult> {
  const tree = await fsTree(dir);
  const text = await readFile(join(dir, "sparki.yml"), "utf8").catch(() => null);
  let config: SparkiConfig | undefined;
  if (text !== null) {
    const parsed = parseSparkiConfig(text);
    if (!parsed.ok) {
      const message = formatConfigIssues(parsed.issues, "sparki.yml");
      for (const line of message.split("\n")) output.note(line);
      return { ok: false, error: "sparki.yml has errors" };
    }
    config = parsed.config;
  }
  const detection = await detect(tree);
  output.note(`detected ${detection.framework ?? detection.language ?? "nothing"}${text === null ? " (no sparki.yml)" : " with sparki.yml"}`);
  const pipeline = await generatePipeline({ detection, tree, ...(config ? { config } : {}) });
  if (pipeline.jobs.length === 0) {
    // A green build of no jobs would hide the mistake (a package.json that does not parse).
    const why = `nothing to run: ${nothingToRunReason(detection.reason, text !== null)}`;
    output.note(`sparki: ${why}`);
    return { ok: false, error: why.slice(0, 1000) };
  }
  await retry(
    () =>
      client.uploadPipeline(job.jobId, {
        leaseId: job.leaseId,
        fencingToken: job.fencingToken,
        pipeline,
        commitSha,
        detection,
        ...(text !== null ? { sparkiYml: text } : {}),
      }),
    transientRetry(5, signal),
  );
  output.note(`uploaded a pipeline of ${pipeline.jobs.length} job(s)`);
  return { ok: true, jobs: pipeline.jobs.length };
}
