/**
 * Turns an uploaded pipeline into the coordinator's job specs. Pure: the same pipeline and
 * branch always give the same jobs.
 */
import { CacheKey, CachePath, JobCache } from "../../core/contracts/runner.ts";
import type { Cache, Pipeline } from "../../core/pipeline/index.ts";
import { branchMatches } from "../../core/pipeline/branches.ts";
import { stepCommand, stepIds } from "../../core/pipeline/step-command.ts";
import type { JobSpec } from "../../server/objects/build-coordinator/protocol.js";
import { requirementLabel } from "../../core/runtimes/labels.ts";

// Branch filters live in core/, shared with the deployment rules; kept exported here for callers of this module.
export { branchMatches };

/** The first job of every build: clone, detect, read sparki.yml, upload the pipeline. */
export function planJob(buildId: string): JobSpec {
  return {
    id: `${buildId}.0`,
    key: "plan",
    name: "plan",
    kind: "plan",
    needs: [],
    labels: [],
    steps: [],
    env: {},
    artifacts: [],
    timeoutSeconds: 600,
  };
}

/**
 * A pipeline job's cache as the runner protocol allows it: paths it would refuse (absolute, '..',
 * from a hand-written sparki.yml) are left out rather than failing the claim; none left, no cache.
 */
function jobCache(cache: Cache | null): JobCache | undefined {
  if (!cache) return undefined;
  const ok = (p: string) => CachePath.safeParse(p).success;
  const paths = cache.paths.filter(ok);
  // An install path the runner would refuse: every job installs on its own, as before.
  const { installPaths, installKey, ...rest } = cache;
  const shared =
    installPaths?.every(ok) && installPaths.length > 0
      ? { installPaths, ...(installKey !== undefined && CacheKey.safeParse(installKey).success ? { installKey } : {}) }
      : {};
  const parsed = JobCache.safeParse({ ...rest, paths, ...shared });
  return parsed.success ? parsed.data : undefined;
}

export interface Expansion {
  jobs: JobSpec[];
  /** Jobs the branch filters leave out (they end `cancelled` without running). */
  skipped: string[];
}

/**
 * One runner job per pipeline job that runs on this branch (`null`: a tag build, which runs only
 * the jobs without a branch filter). Deploy jobs are left to the
 * DeploymentOrchestrator, except in the pipelines it hands over itself (`deployJobs`: a `script`
 * stage's deploy or rollback). Commands run from the job's working directory.
 */
export function expandPipeline(buildId: string, pipeline: Pipeline, branch: string | null, opts: { deployJobs?: boolean } = {}): Expansion {
  const ids = new Map<string, string>();
  for (const [index, job] of pipeline.jobs.entries()) ids.set(job.id, `${buildId}.${index + 1}`);
  const jobs: JobSpec[] = [];
  const skipped: string[] = [];
  pipeline.jobs.forEach((job, index) => {
    const id = `${buildId}.${index + 1}`;
    const runsHere =
      (job.stage !== "deploy" || opts.deployJobs === true) &&
      (job.branches === null || (branch !== null && job.branches.some((p) => branchMatches(p, branch))));
    if (!runsHere) skipped.push(id);
    const cache = jobCache(job.cache);
    const stepIdsOfJob = stepIds(job.steps);
    jobs.push({
      id,
      key: job.id.slice(0, 64),
      name: job.name,
      kind: "steps",
      needs: job.needs.map((need) => ids.get(need)).filter((need): need is string => need !== undefined),
      // A job that needs a runtime goes only to a runner that reported it (core/runtimes/labels.ts).
      labels: [...new Set([...job.runsOn, ...(job.runtime ? [requirementLabel(job.runtime)] : [])])].sort(),
      steps: job.steps.map((step, i) => ({
        id: stepIdsOfJob[i] as string,
        name: step.name,
        // The same command `sparki run` runs (core/pipeline/step-command.ts).
        command: stepCommand(job, step),
        timeoutSeconds: job.timeoutMinutes * 60,
        env: {},
      })),
      env: { ...pipeline.env, ...job.env },
      artifacts: job.artifacts.map((path) => ({ name: path.replace(/^\.\/+/, ""), path })),
      timeoutSeconds: job.timeoutMinutes * 60,
      ...(cache ? { cache } : {}),
      ...(job.runtime ? { runtime: job.runtime } : {}),
    });
  });
  return { jobs, skipped };
}
