import { describe, expect, it } from "vitest";
import { initialJob, JOB_EVENT_TYPES, JOB_STATUSES, transitionJob, type JobEvent, type JobState, type JobStatus } from "./job.ts";

const AT = 1_700_000_000_000;
const LEASE = 60_000;

function eventOf(type: JobEvent["type"], fencingToken = 1): JobEvent {
  switch (type) {
    case "claim":
      return { type, at: AT, runnerId: "r1", leaseId: "l2", leaseMs: LEASE };
    case "start":
    case "release":
      return { type, at: AT, fencingToken };
    case "heartbeat":
      return { type, at: AT, fencingToken, leaseMs: LEASE };
    case "complete":
      return { type, at: AT, fencingToken, status: "failed", exitCode: 2 };
    case "lease_expired":
      return { type, at: AT + 2 * LEASE, maxAttempts: 3 };
    case "cancel":
    case "time_out":
      return { type, at: AT };
  }
}

function stateIn(status: JobStatus): JobState {
  const base = initialJob();
  if (status === "queued") return base;
  const leased = status === "claimed" || status === "running";
  return {
    ...base,
    status,
    attempt: 1,
    fencingToken: 1,
    runnerId: leased ? "r1" : null,
    leaseId: leased ? "l1" : null,
    leaseExpiresAt: leased ? AT + LEASE : null,
  };
}

const LEGAL: Record<JobStatus, Partial<Record<JobEvent["type"], JobStatus>>> = {
  queued: { claim: "claimed", cancel: "cancelled" },
  claimed: { start: "running", heartbeat: "claimed", complete: "failed", release: "queued", lease_expired: "queued", cancel: "claimed", time_out: "timed_out" },
  running: { heartbeat: "running", complete: "failed", release: "queued", lease_expired: "queued", cancel: "running", time_out: "timed_out" },
  succeeded: {},
  failed: {},
  cancelled: {},
  timed_out: {},
};

function ok(result: ReturnType<typeof transitionJob>): JobState {
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.error)}`);
  return result.state;
}

describe("job machine", () => {
  for (const status of JOB_STATUSES) {
    for (const type of JOB_EVENT_TYPES) {
      const target = LEGAL[status][type];
      it(`${status} + ${type} → ${target ?? "refused"}`, () => {
        const result = transitionJob(stateIn(status), eventOf(type));
        if (target) expect(result).toMatchObject({ ok: true, state: { status: target } });
        else expect(result).toEqual({ ok: false, error: { code: "illegal_transition", from: status, event: type } });
      });
    }
  }

  it("claim issues a lease and a larger fencing token", () => {
    const claimed = ok(transitionJob(initialJob(), eventOf("claim")));
    expect(claimed).toMatchObject({ status: "claimed", attempt: 1, fencingToken: 1, runnerId: "r1", leaseId: "l2", leaseExpiresAt: AT + LEASE });
  });

  it("a requeued job's old runner is refused with a stale fencing token", () => {
    const first = ok(transitionJob(initialJob(), eventOf("claim")));
    const requeued = ok(transitionJob(first, { type: "lease_expired", at: AT + LEASE, maxAttempts: 3 }));
    expect(requeued).toMatchObject({ status: "queued", runnerId: null, leaseId: null, leaseExpiresAt: null });
    const second = ok(transitionJob(requeued, { ...eventOf("claim"), at: AT + LEASE + 1 }));
    expect(second.fencingToken).toBe(2);
    for (const type of ["start", "heartbeat", "complete", "release"] as const) {
      expect(transitionJob(second, eventOf(type, 1))).toEqual({ ok: false, error: { code: "stale_fencing_token", current: 2, got: 1 } });
    }
    expect(ok(transitionJob(second, eventOf("complete", 2))).status).toBe("failed");
  });

  it("refuses an expiry before the lease ends, and heartbeats push the end out", () => {
    const claimed = ok(transitionJob(initialJob(), eventOf("claim")));
    expect(transitionJob(claimed, { type: "lease_expired", at: AT + LEASE - 1, maxAttempts: 3 })).toEqual({
      ok: false,
      error: { code: "lease_not_expired", leaseExpiresAt: AT + LEASE, at: AT + LEASE - 1 },
    });
    const beat = ok(transitionJob(claimed, { type: "heartbeat", at: AT + 30_000, fencingToken: 1, leaseMs: LEASE }));
    expect(beat.leaseExpiresAt).toBe(AT + 30_000 + LEASE);
  });

  it("fails the job once attempts are used up instead of requeueing forever", () => {
    const third = { ...stateIn("running"), attempt: 3 };
    expect(ok(transitionJob(third, { type: "lease_expired", at: AT + LEASE, maxAttempts: 3 }))).toMatchObject({ status: "failed", reason: "lease_lost" });
  });

  it("cancelling a held job flags it; the runner's result or an expiry then ends it cancelled", () => {
    const flagged = ok(transitionJob(stateIn("running"), eventOf("cancel")));
    expect(flagged).toMatchObject({ status: "running", cancelRequested: true });
    expect(transitionJob(flagged, eventOf("cancel"))).toMatchObject({ ok: false, error: { code: "illegal_transition" } });
    expect(ok(transitionJob(flagged, { type: "lease_expired", at: AT + LEASE, maxAttempts: 3 })).status).toBe("cancelled");
    expect(ok(transitionJob(flagged, { type: "release", at: AT, fencingToken: 1 })).status).toBe("cancelled");
    expect(ok(transitionJob(flagged, { type: "complete", at: AT, fencingToken: 1, status: "cancelled", exitCode: null }))).toMatchObject({
      status: "cancelled",
      leaseId: null,
    });
  });

  it("a finished job refuses a late result", () => {
    const done = ok(transitionJob(stateIn("running"), eventOf("complete")));
    expect(transitionJob(done, eventOf("complete"))).toEqual({ ok: false, error: { code: "illegal_transition", from: "failed", event: "complete" } });
  });
});
