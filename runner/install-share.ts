/**
 * Install once per build. A job whose cache names `installPaths` and which has a step named
 * `install` (core/pipeline/generate.ts: every lint, test and build job, after the install job)
 * skips that step when the build's install result is already there: in its folder, when an
 * earlier job of the build installed in it on this runner (runner/workspace.ts), or restored from
 * the build-scoped entry the install job saved, when it runs on another runner. Without either it
 * installs as before, so a missing or broken entry costs time, never the build.
 *
 * The entry is an ordinary cache entry (runner/cache.ts: checked against size and SHA-256, kept
 * inside its paths on restore) in the build's own write scope; old ones go with the project's
 * least-recently-used eviction and cache retention. Its key is the platform's and the pipeline's
 * `installKey` (lockfile, install command, paths) when the pipeline gives one: then the install
 * job itself restores an earlier build's install instead of installing, as a warm build does.
 * Without one (install scripts of the project's own, no lockfile) the key is this build's.
 */
import { CacheKey, type Job } from "../core/contracts/runner.ts";
import type { ResolvedCachePath } from "./cache-archive.ts";
import { cacheEnvironmentOf } from "./cache-key.ts";
import { resolveCachePaths } from "./cache.ts";
import type { OutputSink } from "./logs.ts";

export interface InstallShare {
  /** The build-scoped key: platform, build and the install's cache key. */
  key: string;
  paths: ResolvedCachePath[];
  /** The install step's id. */
  stepId: string;
  /** The job is the build's install job (its only step is the install): it saves the entry. */
  installJob: boolean;
  /** The key serves any build of the same lockfile (the pipeline's installKey), not this build alone. */
  anyBuild: boolean;
}

/** What the job shares with the rest of its build, or null when it installs on its own. */
export async function installShareOf(job: Job, output: OutputSink, environment?: string): Promise<InstallShare | null> {
  const cache = job.cache;
  if (job.kind !== "steps" || !cache?.installPaths) return null;
  const step = job.steps.find((s) => s.name === "install");
  if (!step) return null;
  const paths = resolveCachePaths(cache.installPaths, output);
  if (paths.length === 0) return null;
  const build = job.buildId.replace(/[^A-Za-z0-9._-]+/g, "_");
  // Keyed as the dependency cache is: on the version of the runtime the job runs with.
  const front = environment ?? (await cacheEnvironmentOf(cache.runtime));
  const key = CacheKey.safeParse(cache.installKey ? `${front}/${cache.installKey}` : `${front}/build-${build}/${cache.key}`);
  if (!key.success) return null;
  return { key: key.data, paths, stepId: step.id, installJob: job.steps.length === 1, anyBuild: cache.installKey !== undefined };
}
