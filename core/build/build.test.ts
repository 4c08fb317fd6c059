import { describe, expect, it } from "vitest";
import { BUILD_EVENT_TYPES, BUILD_STATUSES, initialBuild, transitionBuild, type BuildEvent, type BuildState, type BuildStatus } from "./build.ts";
import { describeTransitionError } from "./result.ts";

const AT = 1_700_000_000_000;

function eventOf(type: BuildEvent["type"]): BuildEvent {
  switch (type) {
    case "finish":
      return { type, at: AT, outcome: "failed" };
    default:
      return { type, at: AT };
  }
}

function stateIn(status: BuildStatus): BuildState {
  return { status, startedAt: status === "queued" ? null : AT - 1000, finishedAt: null, attempt: 1 };
}

// The whole transition table: every (status, event) pair not listed must be refused.
const LEGAL: Record<BuildStatus, Partial<Record<BuildEvent["type"], BuildStatus>>> = {
  queued: { start: "running", cancel: "cancelled", time_out: "timed_out" },
  running: { finish: "failed", cancel: "cancelled", time_out: "timed_out" },
  succeeded: {},
  failed: { retry: "queued" },
  cancelled: { retry: "queued" },
  timed_out: { retry: "queued" },
};

describe("build machine", () => {
  for (const status of BUILD_STATUSES) {
    for (const type of BUILD_EVENT_TYPES) {
      const target = LEGAL[status][type];
      it(`${status} + ${type} → ${target ?? "refused"}`, () => {
        const before = stateIn(status);
        const result = transitionBuild(before, eventOf(type));
        if (target) {
          expect(result).toMatchObject({ ok: true, state: { status: target } });
        } else {
          expect(result).toEqual({ ok: false, error: { code: "illegal_transition", from: status, event: type } });
          expect(before).toEqual(stateIn(status));
        }
      });
    }
  }

  it("runs a build to success and records its timings", () => {
    const started = transitionBuild(initialBuild(), { type: "start", at: AT });
    if (!started.ok) throw new Error("start refused");
    const done = transitionBuild(started.state, { type: "finish", at: AT + 5000, outcome: "succeeded" });
    expect(done).toEqual({ ok: true, state: { status: "succeeded", startedAt: AT, finishedAt: AT + 5000, attempt: 1 } });
  });

  it("retry starts a new attempt with cleared timings", () => {
    const result = transitionBuild({ status: "failed", startedAt: AT, finishedAt: AT + 1, attempt: 2 }, { type: "retry", at: AT + 2 });
    expect(result).toEqual({ ok: true, state: { status: "queued", startedAt: null, finishedAt: null, attempt: 3 } });
  });

  it("explains a refusal in one line", () => {
    const result = transitionBuild(stateIn("succeeded"), { type: "cancel", at: AT });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(describeTransitionError(result.error)).toBe("cannot cancel when succeeded");
  });
});
