import { describe, expect, it } from "vitest";
import {
  DEPLOYMENT_FINISHED,
  initialDeployment,
  trafficOf,
  transitionDeployment,
  type DeploymentEvent,
  type DeploymentState,
  type StagePlan,
} from "./machine.ts";

const stage = (name: string, extra: Partial<StagePlan> = {}): StagePlan => ({
  name,
  approval: false,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  previous: null,
  trafficSteps: [100],
  pauseMs: 0,
  ...extra,
});

/** Applies events in order, failing the test on any refusal. */
function run(state: DeploymentState, ...events: DeploymentEvent[]): DeploymentState {
  return events.reduce((s, event) => {
    const next = transitionDeployment(s, event);
    if (!next.ok) throw new Error(`${event.type} refused: ${JSON.stringify(next.error)}`);
    return next.state;
  }, state);
}

const ok = { type: "health", ok: true, at: 0 } as const;
const bad = { type: "health", ok: false, detail: "GET / answered 500", at: 0 } as const;

describe("deployment machine", () => {
  it("goes through staging, waits for approval, then production", () => {
    let s = run(
      initialDeployment([stage("staging"), stage("production", { approval: true })]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d1", at: 0 },
      ok,
    );
    expect(s).toMatchObject({ status: "verifying", current: 0 });
    s = run(s, ok);
    expect(s).toMatchObject({ status: "awaiting_approval", current: 1 });
    expect(s.stages.map((x) => x.status)).toEqual(["healthy", "waiting"]);
    expect(transitionDeployment(s, { type: "deployed", platformDeploymentId: "d2", at: 0 })).toMatchObject({
      ok: false,
      error: { code: "illegal_transition" },
    });
    s = run(s, { type: "approve" }, { type: "deployed", platformDeploymentId: "d2", at: 0 }, ok, ok);
    expect(s.status).toBe("succeeded");
    expect(s.stages.map((x) => [x.status, x.platformDeploymentId])).toEqual([
      ["healthy", "d1"],
      ["healthy", "d2"],
    ]);
  });

  it("needs consecutive passes: a failure in between starts the count again", () => {
    const s = run(
      initialDeployment([stage("prod", { healthyThreshold: 2, unhealthyThreshold: 3 })]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d", at: 0 },
      ok,
      bad,
      ok,
    );
    expect(s.status).toBe("verifying");
    expect(run(s, ok).status).toBe("succeeded");
  });

  it("rolls back by itself to the stage's last healthy deployment when it turns unhealthy", () => {
    const s = run(
      initialDeployment([stage("prod", { previous: "d0" }), stage("other")]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d1", at: 0 },
      bad,
      bad,
    );
    expect(s).toMatchObject({ status: "rolling_back", reason: "stage prod failed its health check: GET / answered 500" });
    expect(s.stages.map((x) => x.status)).toEqual(["unhealthy", "skipped"]);
    expect(run(s, { type: "rolled_back" })).toMatchObject({ status: "rolled_back", stages: [{ status: "rolled_back" }, { status: "skipped" }] });
    expect(run(s, { type: "rollback_failed", message: "platform down" }).status).toBe("failed");
  });

  it("fails without rolling back when there is nothing to go back to", () => {
    const s = run(initialDeployment([stage("prod")]), { type: "validated", problems: [] }, { type: "deploy_failed", message: "quota exceeded" });
    expect(s).toMatchObject({ status: "failed", reason: "stage prod failed to deploy: quota exceeded" });
  });

  it("never touches a target when validation fails, and reports every problem", () => {
    const s = run(initialDeployment([stage("prod")]), { type: "validated", problems: ["artifact dist missing", "secret RAILWAY_TOKEN missing"] });
    expect(s).toMatchObject({ status: "failed", reason: "validation failed: artifact dist missing; secret RAILWAY_TOKEN missing" });
    expect(s.stages[0]?.platformDeploymentId).toBeNull();
  });

  it("cancels: before a switch nothing is undone, while verifying the stage is put back", () => {
    const waiting = run(initialDeployment([stage("prod", { approval: true })]), { type: "validated", problems: [] }, { type: "cancel" });
    expect(waiting.status).toBe("cancelled");
    const verifying = run(
      initialDeployment([stage("prod", { previous: "d0" })]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d1", at: 0 },
      { type: "cancel" },
    );
    expect(verifying.status).toBe("rolling_back");
    const noPrevious = run(
      initialDeployment([stage("prod")]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d1", at: 0 },
      { type: "cancel" },
    );
    expect(noPrevious.status).toBe("cancelled");
  });

  it("times out: an approval never given cancels, a stuck stage rolls back", () => {
    expect(run(initialDeployment([stage("prod", { approval: true })]), { type: "validated", problems: [] }, { type: "time_out" }).status).toBe("cancelled");
    expect(run(initialDeployment([stage("prod", { previous: "d0" })]), { type: "validated", problems: [] }, { type: "time_out" }).status).toBe("rolling_back");
  });

  it("refuses every event once finished", () => {
    const done = run(
      initialDeployment([stage("prod", { healthyThreshold: 1 })]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d", at: 0 },
      ok,
    );
    expect(DEPLOYMENT_FINISHED.has(done.status)).toBe(true);
    const events: DeploymentEvent[] = [
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "x", at: 0 },
      { type: "deploy_failed", message: "x" },
      ok,
      { type: "approve" },
      { type: "rolled_back" },
      { type: "rollback_failed", message: "x" },
      { type: "cancel" },
      { type: "time_out" },
    ];
    for (const event of events) expect(transitionDeployment(done, event).ok, event.type).toBe(false);
  });

  it("walks a canary through its traffic steps, each held for its pause and verified before the next", () => {
    const canary = stage("prod", { trafficSteps: [10, 50, 100], pauseMs: 1000, healthyThreshold: 1 });
    let s = run(initialDeployment([canary]), { type: "validated", problems: [] }, { type: "deployed", platformDeploymentId: "d", at: 0 });
    expect(trafficOf(s.stages[0]!)).toBe(10);
    s = run(s, { type: "health", ok: true, at: 500 });
    expect(trafficOf(s.stages[0]!)).toBe(10); // passing, but the pause has not run out
    s = run(s, { type: "health", ok: true, at: 1000 });
    expect([trafficOf(s.stages[0]!), s.stages[0]!.passes]).toEqual([50, 0]);
    s = run(s, { type: "health", ok: true, at: 2000 }, { type: "health", ok: true, at: 3000 });
    expect([s.status, trafficOf(s.stages[0]!)]).toEqual(["succeeded", 100]);
  });

  it("a blue-green stage is verified unseen, then switched and verified again", () => {
    let s = run(
      initialDeployment([stage("prod", { trafficSteps: [0, 100], healthyThreshold: 1 })]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d", at: 0 },
    );
    expect(trafficOf(s.stages[0]!)).toBe(0);
    s = run(s, ok);
    expect([s.status, trafficOf(s.stages[0]!)]).toEqual(["verifying", 100]);
    expect(run(s, ok).status).toBe("succeeded");
  });

  it("a canary that fails at a later step rolls back to the stage's previous deployment", () => {
    const s = run(
      initialDeployment([stage("prod", { trafficSteps: [10, 100], healthyThreshold: 1, unhealthyThreshold: 1, previous: "d0" })]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d1", at: 0 },
      ok,
      bad,
    );
    expect(s).toMatchObject({ status: "rolling_back", rollingBack: [{ stage: 0, to: "d0" }] });
  });

  it("a hand rollback puts back every stage the deployment made live, last stage first", () => {
    let s = run(
      initialDeployment([stage("staging", { previous: "s0", healthyThreshold: 1 }), stage("production", { previous: "p0", healthyThreshold: 1 })]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d", at: 0 },
      ok,
      { type: "deployed", platformDeploymentId: "d", at: 0 },
      ok,
    );
    expect(s.status).toBe("succeeded");
    s = run(s, { type: "rollback", reason: "rolled back by hand" });
    expect(s).toMatchObject({
      status: "rolling_back",
      reason: "rolled back by hand",
      rollingBack: [
        { stage: 1, to: "p0" },
        { stage: 0, to: "s0" },
      ],
    });
    s = run(s, { type: "rolled_back" });
    expect([s.status, ...s.stages.map((x) => x.status)]).toEqual(["rolled_back", "rolled_back", "rolled_back"]);
    expect(transitionDeployment(s, { type: "rollback", reason: "again" }).ok).toBe(false);
  });

  it("a hand rollback can name the deployments to put back, and is refused when there is nothing to go back to", () => {
    const live = run(
      initialDeployment([stage("prod", { healthyThreshold: 1 })]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d", at: 0 },
      ok,
    );
    expect(transitionDeployment(live, { type: "rollback", reason: "r" })).toMatchObject({ ok: false });
    expect(run(live, { type: "rollback", reason: "r", targets: [{ stage: 0, to: "older" }] }).rollingBack).toEqual([{ stage: 0, to: "older" }]);
  });

  it("while awaiting approval, a hand rollback puts back the stages already live and skips the rest", () => {
    const waiting = run(
      initialDeployment([stage("staging", { previous: "s0", healthyThreshold: 1 }), stage("production", { approval: true })]),
      { type: "validated", problems: [] },
      { type: "deployed", platformDeploymentId: "d", at: 0 },
      ok,
    );
    const s = run(waiting, { type: "rollback", reason: "r" });
    expect(s.rollingBack).toEqual([{ stage: 0, to: "s0" }]);
    expect(s.stages.map((x) => x.status)).toEqual(["healthy", "skipped"]);
  });
});
