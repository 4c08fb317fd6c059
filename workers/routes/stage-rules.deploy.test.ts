/**
 * Stage rules applied where deployments are made: manual `POST /v1/builds/:id/deploy`, push
 * deployments from `build.completed`, and approvals. The build's pipeline stands for a branch's
 * sparki.yml, which may try to drop an approval or widen its branches.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { deployments, releases } from "../../server/db/schema.js";
import worker from "../index.js";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { builtSite, deploymentWhen, siteVersion, withDb } from "../testing/deploy.js";

let owner: TestUser;
let admin: TestUser;
let developer: TestUser;
let workspaceId: string;

const rule = async (projectId: string, stage: string, body: unknown) => {
  const res = await call("PUT", `/v1/projects/${projectId}/stage-rules/${stage}`, { token: owner.accessToken, body });
  expect(res.status, res.text).toBeLessThan(300);
};
const deploy = (buildId: string, body?: unknown, user = owner) =>
  call("POST", `/v1/builds/${buildId}/deploy`, { token: user.accessToken, ...(body ? { body } : {}) });
const approve = (id: string, user: TestUser) => call("POST", `/v1/deployments/${id}/approve`, { token: user.accessToken });

beforeAll(async () => {
  owner = await signup("rules-owner");
  admin = await signup("rules-admin");
  developer = await signup("rules-dev");
  workspaceId = (await createWorkspace(owner)).id;
  await addMember(owner, workspaceId, admin, "admin");
  await addMember(owner, workspaceId, developer, "developer");
});

describe("manual deploys follow the stage's rule", () => {
  it("refuses a branch the stage does not accept with a 403 naming the rule, whatever sparki.yml widens", async () => {
    const projectId = (await createProject(owner, workspaceId)).id;
    const wide = [{ stage: "production", platform: "sparki-static", branches: ["*", "**"] }];
    const feature = await builtSite(projectId, siteVersion("f"), wide, { branch: "feature/x" });

    const noRule = await deploy(feature);
    expectProblem(noRule, 403, "stage_rule");
    expect(noRule.body.detail).toBe(
      "Branch feature/x cannot deploy to stage production: stage production has no rule yet, so it accepts only the default branch main, not feature/x (an owner or admin can set one: sparki stages set production --branches …).",
    );

    await rule(projectId, "production", { requireApproval: false, branches: ["main"] });
    const ruled = await deploy(feature, { stage: "production" }, developer);
    expectProblem(ruled, 403, "stage_rule");
    expect(ruled.body.detail).toContain("the project's rule for stage production accepts main, not branch feature/x");

    await rule(projectId, "production", { requireApproval: false, branches: ["main", "feature/*"] });
    expect((await deploy(feature, undefined, developer)).status).toBe(201);
  });

  it("sparki.yml can narrow the branches: both lists must accept the branch", async () => {
    const projectId = (await createProject(owner, workspaceId)).id;
    await rule(projectId, "production", { requireApproval: false, branches: ["main", "release/*"] });
    const narrow = await builtSite(projectId, siteVersion("n"), [{ stage: "production", platform: "sparki-static", branches: ["release/*"] }], {
      branch: "main",
    });
    const res = await deploy(narrow);
    expectProblem(res, 403, "stage_rule");
    expect(res.body.detail).toContain("sparki.yml limits stage production to release/*, not branch main");
  });

  it("refuses the whole deployment when one of its stages refuses, and says how to deploy the other", async () => {
    const projectId = (await createProject(owner, workspaceId)).id;
    await rule(projectId, "staging", { requireApproval: false, branches: ["**"] });
    const stages = [
      { stage: "staging", platform: "sparki-static", branches: ["**"] },
      { stage: "production", platform: "sparki-static", branches: ["**"] },
    ];
    const feature = await builtSite(projectId, siteVersion("s"), stages, { branch: "feature/y" });
    const all = await deploy(feature);
    expectProblem(all, 403, "stage_rule");
    expect(all.body.detail).toMatch(/stage production: .* Deploy another stage with/);
    expect((await deploy(feature, { stage: "staging" })).status).toBe(201);
  });
});

describe("approvals follow the stage's rule", () => {
  it("keeps the server's approval when sparki.yml says approval: false; only the stage's approver roles approve; the approver is recorded", {
    timeout: 60_000,
  }, async () => {
    const projectId = (await createProject(owner, workspaceId)).id;
    await rule(projectId, "production", { requireApproval: true, branches: ["main"] });
    const buildId = await builtSite(projectId, siteVersion("a"), [{ stage: "production", platform: "sparki-static", approval: false }]);
    const created = await deploy(buildId);
    expect(created.status, created.text).toBe(201);
    const d = await deploymentWhen(owner, created.body.id, (x) => x.status === "awaiting_approval");
    expect(d.stages[0]).toMatchObject({ approval: true, approverRoles: ["owner", "admin"], approvedBy: null, approvedAt: null });
    expect(d.events.find((e: any) => e.type === "approval_needed")?.message).toBe("stage production waits for approval by owner or admin");

    // Owners only now: the rule as it is when approving also binds a deployment already waiting.
    await rule(projectId, "production", { requireApproval: true, branches: ["main"], approverRoles: ["owner"] });
    const byAdmin = await approve(d.id, admin);
    expectProblem(byAdmin, 403, "forbidden");
    expect(byAdmin.body.detail).toBe("Stage production may be approved by owner (the project's stage rule); your role is admin.");
    expectProblem(await approve(d.id, developer), 403, "forbidden");

    const approved = await approve(d.id, owner);
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body.stages[0]).toMatchObject({ approvedBy: { id: owner.id, email: owner.email }, approvedAt: expect.any(String) });
    await expect
      .poll(() => withDb(async (db) => (await db.select().from(deployments).where(eq(deployments.releaseId, d.id)))[0]?.approvedBy), { timeout: 10_000 })
      .toBe(owner.id);
    expectProblem(await approve(d.id, owner), 409, "conflict");
  });

  it("an admin approves a stage whose rule leaves approvers at the default", { timeout: 60_000 }, async () => {
    const projectId = (await createProject(owner, workspaceId)).id;
    const buildId = await builtSite(projectId, siteVersion("b"), [{ stage: "gate", platform: "sparki-static", approval: true }]);
    const created = await deploy(buildId);
    await deploymentWhen(owner, created.body.id, (x) => x.status === "awaiting_approval");
    const res = await approve(created.body.id, admin);
    expect(res.status, res.text).toBe(200);
    expect(res.body.stages[0].approvedBy).toEqual({ id: admin.id, email: admin.email });
  });
});

describe("push deployments (build.completed) follow the stage's rule", () => {
  async function deliver(buildId: string, projectId: string) {
    const batch = createMessageBatch("sparki-events", [
      {
        id: buildId,
        timestamp: new Date(),
        attempts: 1,
        body: { type: "build.completed", buildId, projectId, status: "succeeded", correlationId: "c", occurredAt: new Date().toISOString() },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual([buildId]);
    return withDb(async (db) => {
      const [release] = await db.select().from(releases).where(eq(releases.buildId, buildId));
      const stages = release ? await db.select().from(deployments).where(eq(deployments.releaseId, release.id)) : [];
      return stages.map((s) => [s.stage, s.approval]);
    });
  }

  it("a feature branch whose sparki.yml drops the approval and widens branches to * deploys only where the rules accept it; the default branch keeps the approval", async () => {
    const projectId = (await createProject(owner, workspaceId)).id;
    await rule(projectId, "staging", { requireApproval: false, branches: ["main", "feature/*"] });
    await rule(projectId, "production", { requireApproval: true, branches: ["main"] });
    const hostile = [
      { stage: "staging", platform: "sparki-static", branches: ["*", "**"] },
      { stage: "production", platform: "sparki-static", branches: ["*", "**"], approval: false },
    ];
    expect(await deliver(await builtSite(projectId, siteVersion("f"), hostile, { branch: "feature/steal" }), projectId)).toEqual([["staging", false]]);
    expect(await deliver(await builtSite(projectId, siteVersion("o"), hostile, { branch: "other" }), projectId)).toEqual([]);
    const main = await deliver(await builtSite(projectId, siteVersion("m"), hostile, { branch: "main" }), projectId);
    expect(main.sort()).toEqual([
      ["production", true],
      ["staging", false],
    ]);
  });
});
