/**
 * The build state machine: queued → running → succeeded | failed | cancelled | timed_out,
 * and retry (re-running failed jobs) from a finished, unsuccessful build back to queued.
 * Pure and total: every (status, event) pair returns a state or a typed error.
 */
import { illegal, moved, type Transition } from "./result.ts";

export const BUILD_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "timed_out"] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

/** Statuses a build never leaves except by retry. */
export const BUILD_FINISHED: ReadonlySet<BuildStatus> = new Set(["succeeded", "failed", "cancelled", "timed_out"]);

export interface BuildState {
  status: BuildStatus;
  /** Milliseconds since the epoch; set when the (latest attempt of the) build starts. */
  startedAt: number | null;
  finishedAt: number | null;
  /** 1 for the first run, +1 per retry. */
  attempt: number;
}

/** Events carry their time, so the machine reads no clock. */
export type BuildEvent =
  | { type: "start"; at: number }
  | { type: "finish"; at: number; outcome: "succeeded" | "failed" }
  | { type: "cancel"; at: number }
  | { type: "time_out"; at: number }
  | { type: "retry"; at: number };

export const BUILD_EVENT_TYPES = ["start", "finish", "cancel", "time_out", "retry"] as const satisfies readonly BuildEvent["type"][];

/** A new build. */
export function initialBuild(): BuildState {
  return { status: "queued", startedAt: null, finishedAt: null, attempt: 1 };
}

/** Applies one event to a build. */
export function transitionBuild(state: BuildState, event: BuildEvent): Transition<BuildState> {
  const { status } = state;
  switch (event.type) {
    case "start":
      if (status !== "queued") return illegal(status, event.type);
      return moved({ ...state, status: "running", startedAt: event.at });
    case "finish":
      if (status !== "running") return illegal(status, event.type);
      return moved({ ...state, status: event.outcome, finishedAt: event.at });
    case "cancel":
      if (status !== "queued" && status !== "running") return illegal(status, event.type);
      return moved({ ...state, status: "cancelled", finishedAt: event.at });
    case "time_out":
      // A queued build can time out too: no runner with its labels ever came.
      if (status !== "queued" && status !== "running") return illegal(status, event.type);
      return moved({ ...state, status: "timed_out", finishedAt: event.at });
    case "retry":
      if (status !== "failed" && status !== "cancelled" && status !== "timed_out") return illegal(status, event.type);
      return moved({ status: "queued", startedAt: null, finishedAt: null, attempt: state.attempt + 1 });
    default: {
      const unreachable: never = event;
      return illegal(status, (unreachable as { type: string }).type);
    }
  }
}
