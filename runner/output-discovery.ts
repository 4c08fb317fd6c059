/**
 * The build's output when nothing declared one: the pipeline marks a build job whose app has
 * no output directory (SPARKI_FIND_OUTPUT, the app's folder), the runner notes which of the
 * usual output folders exist before the build step, and after a successful build keeps the
 * first one the build created as the job's artifact. A folder that was already committed
 * (public/ of a Laravel app) is never taken: only one the build made is the build's output.
 */
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { ArtifactPath, type Artifact, type Job } from "../core/contracts/runner.ts";
import { FIND_OUTPUT_ENV } from "../core/pipeline/index.ts";

/** Output folders build tools write, most specific first. */
export const OUTPUT_CANDIDATES = ["dist", "build", "out", "public", "_site", "site", "www", ".output", "output"] as const;

/** Where to look, from the job: the app folder relative to the checkout, or null (no discovery). */
export function discoveryDir(job: Job): string | null {
  const dir = job.env[FIND_OUTPUT_ENV];
  if (dir === undefined || job.kind !== "steps" || job.artifacts.length > 0) return null;
  const parsed = ArtifactPath.safeParse(dir);
  return parsed.success ? parsed.data : null;
}

const rel = (dir: string, name: string) => (dir === "." || dir === "" ? name : `${dir}/${name}`);

async function isDir(path: string): Promise<boolean> {
  try {
    // lstat: a symlink the build made is not followed here; resolveInside checks it at upload.
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Which candidate folders exist in `dir` of the checkout `root` now. */
export async function outputSnapshot(root: string, dir: string): Promise<Set<string>> {
  const present = new Set<string>();
  for (const name of OUTPUT_CANDIDATES) if (await isDir(join(root, rel(dir, name)))) present.add(name);
  return present;
}

/** The first candidate folder that exists now and did not `before`, as an artifact; null when none. */
export async function foundAfterBuild(root: string, dir: string, before: ReadonlySet<string>): Promise<Artifact | null> {
  for (const name of OUTPUT_CANDIDATES) {
    if (before.has(name)) continue;
    const path = rel(dir, name);
    if (await isDir(join(root, path))) return { name: path, path };
  }
  return null;
}
