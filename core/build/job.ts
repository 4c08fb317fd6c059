/**
 * The job state machine, which is also the lease: queued → claimed → running → succeeded |
 * failed | cancelled | timed_out. Each claim issues a larger fencing token; every runner call
 * must carry the current one, so a runner whose lease expired (and whose job was requeued and
 * claimed again) is refused even if it comes back. Pure: the dispatcher reads the clock and
 * passes `at`; the machine never throws.
 */
import { illegal, moved, type Transition } from "./result.ts";

export const JOB_STATUSES = ["queued", "claimed", "running", "succeeded", "failed", "cancelled", "timed_out"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobState {
  status: JobStatus;
  /** Number of times the job was claimed. */
  attempt: number;
  /** The token of the latest claim; 0 before the first. Never decreases. */
  fencingToken: number;
  runnerId: string | null;
  leaseId: string | null;
  leaseExpiresAt: number | null;
  /** Cancel asked while a runner holds the job: it learns so from its next heartbeat. */
  cancelRequested: boolean;
  exitCode: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** Why the platform (not the runner) ended the job, for the UI. */
  reason: "lease_lost" | null;
}

type Fenced = { fencingToken: number; at: number };

export type JobEvent =
  | { type: "claim"; at: number; runnerId: string; leaseId: string; leaseMs: number }
  | ({ type: "start" } & Fenced)
  | ({ type: "heartbeat"; leaseMs: number } & Fenced)
  | ({ type: "complete"; status: "succeeded" | "failed" | "cancelled" | "timed_out"; exitCode: number | null } & Fenced)
  | ({ type: "release" } & Fenced)
  | { type: "lease_expired"; at: number; maxAttempts: number }
  | { type: "cancel"; at: number }
  | { type: "time_out"; at: number };

export const JOB_EVENT_TYPES = [
  "claim",
  "start",
  "heartbeat",
  "complete",
  "release",
  "lease_expired",
  "cancel",
  "time_out",
] as const satisfies readonly JobEvent["type"][];

export function initialJob(): JobState {
  return {
    status: "queued",
    attempt: 0,
    fencingToken: 0,
    runnerId: null,
    leaseId: null,
    leaseExpiresAt: null,
    cancelRequested: false,
    exitCode: null,
    startedAt: null,
    finishedAt: null,
    reason: null,
  };
}

const held = (s: JobStatus) => s === "claimed" || s === "running";

/** The lease cleared, as when a job goes back to the queue or finishes. */
function unleased(state: JobState): JobState {
  return { ...state, runnerId: null, leaseId: null, leaseExpiresAt: null };
}

function fence(state: JobState, event: Fenced & { type: string }): Transition<JobState> | null {
  if (!held(state.status)) return illegal(state.status, event.type);
  if (event.fencingToken !== state.fencingToken) {
    return { ok: false, error: { code: "stale_fencing_token", current: state.fencingToken, got: event.fencingToken } };
  }
  return null;
}

/** Back to the queue, unless a cancel was asked meanwhile or attempts are used up. */
function requeue(state: JobState, at: number, maxAttempts: number | null): JobState {
  const base = unleased(state);
  if (state.cancelRequested) return { ...base, status: "cancelled", finishedAt: at };
  if (maxAttempts !== null && state.attempt >= maxAttempts) return { ...base, status: "failed", finishedAt: at, reason: "lease_lost" };
  return { ...base, status: "queued" };
}

/** Applies one event to a job. */
export function transitionJob(state: JobState, event: JobEvent): Transition<JobState> {
  const { status } = state;
  switch (event.type) {
    case "claim":
      if (status !== "queued") return illegal(status, event.type);
      return moved({
        ...state,
        status: "claimed",
        attempt: state.attempt + 1,
        fencingToken: state.fencingToken + 1,
        runnerId: event.runnerId,
        leaseId: event.leaseId,
        leaseExpiresAt: event.at + event.leaseMs,
      });
    case "start": {
      const refused = fence(state, event);
      if (refused) return refused;
      if (status !== "claimed") return illegal(status, event.type);
      return moved({ ...state, status: "running", startedAt: event.at });
    }
    case "heartbeat": {
      const refused = fence(state, event);
      if (refused) return refused;
      return moved({ ...state, leaseExpiresAt: event.at + event.leaseMs });
    }
    case "complete": {
      const refused = fence(state, event);
      if (refused) return refused;
      return moved({ ...unleased(state), status: event.status, exitCode: event.exitCode, finishedAt: event.at });
    }
    case "release": {
      const refused = fence(state, event);
      if (refused) return refused;
      return moved(requeue(state, event.at, null));
    }
    case "lease_expired":
      if (!held(status)) return illegal(status, event.type);
      if (state.leaseExpiresAt !== null && event.at < state.leaseExpiresAt) {
        return { ok: false, error: { code: "lease_not_expired", leaseExpiresAt: state.leaseExpiresAt, at: event.at } };
      }
      return moved(requeue(state, event.at, event.maxAttempts));
    case "cancel":
      if (status === "queued") return moved({ ...state, status: "cancelled", finishedAt: event.at });
      if (!held(status) || state.cancelRequested) return illegal(status, event.type);
      return moved({ ...state, cancelRequested: true });
    case "time_out":
      if (!held(status)) return illegal(status, event.type);
      return moved({ ...unleased(state), status: "timed_out", finishedAt: event.at });
    default: {
      const unreachable: never = event;
      return illegal(status, (unreachable as { type: string }).type);
    }
  }
}
