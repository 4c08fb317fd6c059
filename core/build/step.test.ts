import { describe, expect, it } from "vitest";
import { initialStep, STEP_EVENT_TYPES, STEP_STATUSES, transitionStep, type StepEvent, type StepState, type StepStatusName } from "./step.ts";

const AT = 1_700_000_000_000;

const eventOf = (type: StepEvent["type"]): StepEvent => (type === "exit" ? { type, at: AT, exitCode: 0 } : { type, at: AT });

const LEGAL: Record<StepStatusName, Partial<Record<StepEvent["type"], StepStatusName>>> = {
  pending: { start: "running", cancel: "cancelled", skip: "skipped" },
  running: { exit: "succeeded", time_out: "timed_out", cancel: "cancelled" },
  succeeded: {},
  failed: {},
  cancelled: {},
  timed_out: {},
  skipped: {},
};

describe("step machine", () => {
  for (const status of STEP_STATUSES) {
    for (const type of STEP_EVENT_TYPES) {
      const target = LEGAL[status][type];
      it(`${status} + ${type} → ${target ?? "refused"}`, () => {
        const before: StepState = { ...initialStep(), status };
        const result = transitionStep(before, eventOf(type));
        if (target) expect(result).toMatchObject({ ok: true, state: { status: target } });
        else expect(result).toEqual({ ok: false, error: { code: "illegal_transition", from: status, event: type } });
      });
    }
  }

  it("a non-zero exit fails the step and keeps the code", () => {
    const running = transitionStep(initialStep(), { type: "start", at: AT });
    if (!running.ok) throw new Error("start refused");
    expect(transitionStep(running.state, { type: "exit", at: AT + 3200, exitCode: 3 })).toEqual({
      ok: true,
      state: { status: "failed", exitCode: 3, startedAt: AT, finishedAt: AT + 3200 },
    });
  });
});
