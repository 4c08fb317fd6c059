/**
 * The coordinator's handling of a plan: a pipeline of no jobs fails the build with a reason
 * instead of ending green with nothing run (runners before 2026-12 still upload such plans).
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Pipeline } from "../../core/pipeline/index.ts";
import { buildCoordinator } from "../../server/objects/clients.ts";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";

let owner: TestUser;
let projectId: string;
beforeAll(async () => {
  owner = await signup("empty-plan");
  projectId = (await createProject(owner, (await createWorkspace(owner)).id)).id;
});

const emptyPipeline: Pipeline = {
  version: 1,
  name: "empty",
  triggers: { branches: ["main"], pullRequests: true },
  env: {},
  stages: [],
  jobs: [],
};

describe("a plan that finds nothing to run", () => {
  it("fails the build and says why", async () => {
    const res = await call("POST", `/v1/projects/${projectId}/builds`, { token: owner.accessToken, body: { branch: "main", commitSha: "c".repeat(40) } });
    expect(res.status, res.text).toBe(201);
    const coordinator = buildCoordinator(env, res.body.id as string);
    const planId = (await coordinator.view())?.jobs.find((j) => j.kind === "plan")?.id;
    if (!planId) throw new Error("the build has no plan job");
    const runnerId = crypto.randomUUID();
    const plan = await coordinator.claimJob(planId, { runnerId, workspaceId: null });
    if (!plan) throw new Error("the claim lost");
    const holder = { leaseId: plan.leaseId, fencingToken: plan.fencingToken, runnerId };

    expect(await coordinator.uploadPipeline(planId, holder, emptyPipeline, null)).toBeNull();
    expect(await coordinator.complete(planId, holder, { status: "succeeded", exitCode: 0, steps: [] })).toBeNull();

    const view = await coordinator.view();
    expect(view).toMatchObject({ status: "failed", error: "The plan found nothing to run: the pipeline has no jobs." });
    expect(view?.jobs).toHaveLength(1);
  });
});
