/**
 * What the coordinator answers about its build, shaped from its stored rows: the build as
 * GET /v1/builds/:id shows it, and a claimed job as its runner receives it.
 */
import type { Job } from "../../core/contracts/runner.ts";
import type { BuildView } from "../../server/objects/build-coordinator/protocol.js";
import type { JobRow, Meta } from "./store.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The build and its jobs, with each reported step named from the job's spec. */
export function buildView(meta: Meta, jobs: JobRow[]): BuildView {
  return {
    id: meta.init.buildId,
    status: meta.state.status,
    attempt: meta.state.attempt,
    commitSha: meta.commitSha,
    error: meta.error ?? null,
    startedAt: iso(meta.state.startedAt),
    completedAt: iso(meta.state.finishedAt),
    pools: meta.init.pools,
    jobs: jobs.map((j) => ({
      id: j.spec.id,
      name: j.spec.name,
      kind: j.spec.kind,
      status: j.state.status,
      exitCode: j.state.exitCode,
      attempt: j.state.attempt,
      startedAt: iso(j.state.startedAt),
      completedAt: iso(j.state.finishedAt),
      steps: j.steps.map((s) => ({ ...s, name: j.spec.steps.find((d) => d.id === s.id)?.name ?? s.id })),
      labels: j.spec.labels,
      waiting: j.state.status === "queued" ? waitingOnNeeds(j, jobs) : null,
    })),
  };
}

/**
 * A queued job's wait that the coordinator can tell alone: jobs it needs that have not
 * succeeded yet. Null for a job already offered to the pools (the API asks them why it waits).
 */
function waitingOnNeeds(job: JobRow, jobs: JobRow[]): { reason: string } | null {
  const pending = job.spec.needs.map((id) => jobs.find((j) => j.spec.id === id)).filter((j) => j !== undefined && j.state.status !== "succeeded");
  if (pending.length === 0) return null;
  return { reason: `waiting for ${pending.map((j) => j?.spec.name).join(", ")} to succeed` };
}

/** A job just claimed, as its runner gets it: no job token and no secrets (the API adds both). */
export function claimedJob(meta: Meta, job: JobRow, now: number, traceparent: string | null): Omit<Job, "jobToken"> {
  const repo = meta.init.repo;
  return {
    jobId: job.spec.id,
    buildId: meta.init.buildId,
    kind: job.spec.kind,
    leaseId: job.state.leaseId ?? "",
    fencingToken: job.state.fencingToken,
    leaseExpiresAt: new Date(job.state.leaseExpiresAt ?? now).toISOString(),
    repo: { url: repo.url, branch: repo.branch, ...(repo.tag ? { tag: repo.tag } : {}), commitSha: meta.commitSha },
    steps: job.spec.steps,
    env: job.spec.env,
    secrets: [],
    artifacts: job.spec.artifacts,
    timeoutSeconds: job.spec.timeoutSeconds,
    ...(job.spec.cache ? { cache: job.spec.cache } : {}),
    ...(job.spec.runtime ? { runtime: job.spec.runtime } : {}),
    ...(traceparent ? { traceparent } : {}),
    workspaceId: meta.init.workspaceId,
  };
}
