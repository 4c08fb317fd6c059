/** Whether a runner's call on a job may proceed: it must hold the job's current lease. */
import { describeTransitionError, transitionJob, type JobEvent } from "../../core/build/index.ts";
import type { Holder, LeaseRefusal } from "../../server/objects/build-coordinator/protocol.js";
import type { JobRow, Store } from "./store.js";

/** The job if `lease` is its current one: lease id, fencing token and the runner that claimed it. */
export function heldJob(store: Store, jobId: string, lease: Holder): JobRow | LeaseRefusal {
  const job = store.job(jobId);
  if (!job) return { refused: "not_found", detail: `No job ${jobId} in this build.` };
  const state = job.state;
  const holds = state.leaseId === lease.leaseId && state.fencingToken === lease.fencingToken && state.runnerId === lease.runnerId;
  if (!holds || (state.status !== "claimed" && state.status !== "running")) {
    return { refused: "lease_lost", detail: `This runner no longer holds job ${jobId} (fencing token ${lease.fencingToken}, current ${state.fencingToken}).` };
  }
  return job;
}

/** Moves the job by a runner's event; a refusal (the API's 409) when the machine will not. */
export function applyJobEvent(job: JobRow, event: JobEvent): LeaseRefusal | null {
  const moved = transitionJob(job.state, event);
  if (moved.ok) {
    job.state = moved.state;
    return null;
  }
  return { refused: moved.error.code === "stale_fencing_token" ? "lease_lost" : "illegal", detail: describeTransitionError(moved.error) };
}
