import { access, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { applyConfig, formatConfigIssues, parseSparkiConfig, renderSparkiConfig } from "../core/config/index.ts";
import { detect, type Detection } from "../core/detect/index.ts";
import { canonicalJson, generatePipeline } from "../core/pipeline/index.ts";
import { formatDetection, formatPipelineSettings } from "./format.ts";
import { fsTree, TreeRootError } from "../node/fs-tree.ts";
import { UserError } from "../node/user-error.ts";
import type { SparkiConfig } from "../core/config/schema.ts";

export async function treeOf(dir: string) {
  try {
    return await fsTree(resolve(dir));
  } catch (err) {
    if (err instanceof TreeRootError) throw new UserError(`${err.message}; pass the path of a project folder`);
    throw err;
  }
}

/** The object `sparki detect --json` prints: the detection, every field present. */
export function detectionJson(d: Detection): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** The folder's sparki.yml, parsed; undefined when there is none; a user error when it has errors. */
export async function readConfig(dir: string): Promise<SparkiConfig | undefined> {
  const text = await readFile(join(resolve(dir), "sparki.yml"), "utf8").catch(() => null);
  if (text === null) return undefined;
  const parsed = parseSparkiConfig(text);
  if (!parsed.ok) throw new UserError(formatConfigIssues(parsed.issues, join(dir, "sparki.yml")));
  return parsed.config;
}

/**
 * `sparki detect [dir] [--json]`: what the build will use, so sparki.yml's overrides are
 * applied (each with its evidence, "set in sparki.yml"), as the plan job applies them; the
 * readable report also lists the pipeline settings, each with its source.
 */
export async function detectCommand(dir: string, opts: { json?: boolean }): Promise<void> {
  const tree = await treeOf(dir);
  const config = await readConfig(dir);
  const detected = await detect(tree);
  const result = config ? applyConfig(detected, config) : detected;
  process.stdout.write(opts.json ? detectionJson(result) : `${formatDetection(result, dir)}${formatPipelineSettings(config?.pipeline)}`);
}

/** `sparki init [dir]`: writes sparki.yml from the detection; never overwrites one. */
export async function initCommand(dir: string): Promise<void> {
  const tree = await treeOf(dir);
  const target = join(resolve(dir), "sparki.yml");
  const exists = await access(target).then(
    () => true,
    () => false,
  );
  if (exists) throw new UserError(`${join(dir, "sparki.yml")} already exists; edit it, or delete it to write a new one`);
  const result = await detect(tree);
  await writeFile(target, renderSparkiConfig(result), { flag: "wx" });
  process.stdout.write(`wrote ${join(dir, "sparki.yml")} (${result.framework ?? result.language ?? "nothing detected"})\n`);
}

/**
 * `sparki pipeline [dir] [--json]`: the pipeline the platform would run, each job's values with
 * their sources; with --json the pipeline itself as canonical JSON.
 */
export async function pipelineCommand(dir: string, opts: { json?: boolean }): Promise<void> {
  const tree = await treeOf(dir);
  const config = await readConfig(dir);
  const detected = await detect(tree);
  const pipeline = await generatePipeline({ detection: detected, tree, ...(config ? { config } : {}) });
  if (opts.json) return void process.stdout.write(`${canonicalJson(pipeline)}\n`);
  const { formatPipeline } = await import("./format-pipeline.ts");
  process.stdout.write(formatPipeline(pipeline, config ? applyConfig(detected, config) : detected, config, dir));
}
