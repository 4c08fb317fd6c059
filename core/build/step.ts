/**
 * The step state machine: pending → running → succeeded | failed | cancelled | timed_out,
 * or pending → skipped (an earlier step failed) / cancelled. The runner drives it as steps
 * run and reports each state; the coordinator replays the reports through it.
 */
import { illegal, moved, type Transition } from "./result.ts";

export const STEP_STATUSES = ["pending", "running", "succeeded", "failed", "cancelled", "timed_out", "skipped"] as const;
export type StepState = {
  status: (typeof STEP_STATUSES)[number];
  exitCode: number | null;
  startedAt: number | null;
  finishedAt: number | null;
};
export type StepStatusName = StepState["status"];

export type StepEvent =
  | { type: "start"; at: number }
  | { type: "exit"; at: number; exitCode: number }
  | { type: "time_out"; at: number }
  | { type: "cancel"; at: number }
  | { type: "skip"; at: number };

export const STEP_EVENT_TYPES = ["start", "exit", "time_out", "cancel", "skip"] as const satisfies readonly StepEvent["type"][];

export function initialStep(): StepState {
  return { status: "pending", exitCode: null, startedAt: null, finishedAt: null };
}

/** Applies one event to a step. A non-zero exit code fails the step. */
export function transitionStep(state: StepState, event: StepEvent): Transition<StepState> {
  const { status } = state;
  switch (event.type) {
    case "start":
      if (status !== "pending") return illegal(status, event.type);
      return moved({ ...state, status: "running", startedAt: event.at });
    case "exit":
      if (status !== "running") return illegal(status, event.type);
      return moved({ ...state, status: event.exitCode === 0 ? "succeeded" : "failed", exitCode: event.exitCode, finishedAt: event.at });
    case "time_out":
      if (status !== "running") return illegal(status, event.type);
      return moved({ ...state, status: "timed_out", finishedAt: event.at });
    case "cancel":
      if (status !== "running" && status !== "pending") return illegal(status, event.type);
      return moved({ ...state, status: "cancelled", finishedAt: event.at });
    case "skip":
      if (status !== "pending") return illegal(status, event.type);
      return moved({ ...state, status: "skipped", finishedAt: event.at });
    default: {
      const unreachable: never = event;
      return illegal(status, (unreachable as { type: string }).type);
    }
  }
}
