import { describe, expect, it } from "vitest";
import { DEPLOYMENT_FINISHED, initialDeployment, transitionDeployment, type DeploymentEvent, type DeploymentState, type StagePlan } from "./machine.ts";

const stage = (name: string, extra: Partial<StagePlan> = {}): StagePlan => ({ name, approval: false, healthyThreshold: 2, unhealthyThreshold: 2, previous: null, ...extra });

/** Applies events in order, failing the test on any refusal. */
function run(state: DeploymentState, ...events: DeploymentEvent[]): DeploymentState {
  return events.reduce((s, event) => {
    const next = transitionDeployment(s, event);
    if (!next.ok) throw new Error(`${event.type} refused: ${JSON.stringify(next.error)}`);
    return next.state;
  }, state);
}

const ok = { type: "health", ok: true } as const;
const bad = { type: "health", ok: false, detail: "GET / answered 500" } as const;

describe("deployment machine", () => {
  it("goes through staging, waits for approval, then production", () => {
    let s = run(initialDeployment([stage("staging"), stage("production", { approval: true })]), { type: "validated", problems: [] }, { type: "deployed", platformDeploymentId: "d1" }, ok);
    expect(s).toMatchObject({ status: "verifying", current: 0 });
    s = run(s, ok);
    expect(s).toMatchObject({ status: "awaiting_approval", current: 1 });
    expect(s.stages.map((x) => x.status)).toEqual(["healthy", "waiting"]);
    expect(transitionDeployment(s, { type: "deployed", platformDeploymentId: "d2" })).toMatchObject({ ok: false, error: { code: "illegal_transition" } });
    s = run(s, { type: "approve" }, { type: "deployed", platformDeploymentId: "d2" }, ok, ok);
    expect(s.status).toBe("succeeded");
    expect(s.stages.map((x) => [x.status, x.platformDeploymentId])).toEqual([["healthy", "d1"], ["healthy", "d2"]]);
  });

  it("needs consecutive passes: a failure in between starts the count again", () => {
    const s = run(initialDeployment([stage("prod", { healthyThreshold: 2, unhealthyThreshold: 3 })]), { type: "validated", problems: [] }, { type: "deployed", platformDeploymentId: "d" }, ok, bad, ok);
    expect(s.status).toBe("verifying");
    expect(run(s, ok).status).toBe("succeeded");
  });

  it("rolls back by itself to the stage's last healthy deployment when it turns unhealthy", () => {
    const s = run(initialDeployment([stage("prod", { previous: "d0" }), stage("other")]), { type: "validated", problems: [] }, { type: "deployed", platformDeploymentId: "d1" }, bad, bad);
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
    const verifying = run(initialDeployment([stage("prod", { previous: "d0" })]), { type: "validated", problems: [] }, { type: "deployed", platformDeploymentId: "d1" }, { type: "cancel" });
    expect(verifying.status).toBe("rolling_back");
    const noPrevious = run(initialDeployment([stage("prod")]), { type: "validated", problems: [] }, { type: "deployed", platformDeploymentId: "d1" }, { type: "cancel" });
    expect(noPrevious.status).toBe("cancelled");
  });

  it("times out: an approval never given cancels, a stuck stage rolls back", () => {
    expect(run(initialDeployment([stage("prod", { approval: true })]), { type: "validated", problems: [] }, { type: "time_out" }).status).toBe("cancelled");
    expect(run(initialDeployment([stage("prod", { previous: "d0" })]), { type: "validated", problems: [] }, { type: "time_out" }).status).toBe("rolling_back");
  });

  it("refuses every event once finished", () => {
    const done = run(initialDeployment([stage("prod", { healthyThreshold: 1 })]), { type: "validated", problems: [] }, { type: "deployed", platformDeploymentId: "d" }, ok);
    expect(DEPLOYMENT_FINISHED.has(done.status)).toBe(true);
    const events: DeploymentEvent[] = [{ type: "validated", problems: [] }, { type: "deployed", platformDeploymentId: "x" }, { type: "deploy_failed", message: "x" }, ok, { type: "approve" }, { type: "rolled_back" }, { type: "rollback_failed", message: "x" }, { type: "cancel" }, { type: "time_out" }];
    for (const event of events) expect(transitionDeployment(done, event).ok, event.type).toBe(false);
  });
});
