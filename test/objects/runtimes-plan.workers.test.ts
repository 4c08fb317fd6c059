/**
 * Runtimes in the real objects: a pool's dispatcher reports the labels its runners' claims carried
 * (runtimes included), and a coordinator expanding a plan whose job needs a runtime no runner online
 * in its pools has fails the build with the reason, or else offers the job with the runtime's label.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Pipeline } from "../../core/pipeline/index.ts";
import { buildCoordinator, runnerDispatcher } from "../../server/objects/clients.ts";
import { workspacePool } from "../../server/objects/runner-dispatcher/protocol.ts";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";

let owner: TestUser;
let workspaceId: string;
let projectId: string;
beforeAll(async () => {
  owner = await signup("runtime-plan");
  workspaceId = (await createWorkspace(owner)).id;
  projectId = (await createProject(owner, workspaceId)).id;
});

const needing = (version: string): Pipeline => ({
  version: 1,
  name: "pinned",
  triggers: { branches: ["main"], pullRequests: true },
  env: {},
  stages: [{ name: "test", jobs: ["test"] }],
  jobs: [
    {
      id: "test",
      name: "test",
      stage: "test",
      app: ".",
      needs: [],
      runsOn: ["linux"],
      workingDirectory: ".",
      timeoutMinutes: 5,
      env: {},
      cache: null,
      steps: [{ name: "test", run: "node --version" }],
      artifacts: [],
      branches: null,
      deploy: null,
      runtime: { name: "node", version },
    },
  ],
});

/** A build of the project whose plan uploads `pipeline` and succeeds; its view after that. */
async function planned(pipeline: Pipeline) {
  const res = await call("POST", `/v1/projects/${projectId}/builds`, { token: owner.accessToken, body: { branch: "main", commitSha: "d".repeat(40) } });
  expect(res.status, res.text).toBe(201);
  const coordinator = buildCoordinator(env, res.body.id as string);
  const planId = (await coordinator.view())?.jobs.find((j) => j.kind === "plan")?.id;
  if (!planId) throw new Error("the build has no plan job");
  const runnerId = crypto.randomUUID();
  const plan = await coordinator.claimJob(planId, { runnerId, workspaceId });
  if (!plan) throw new Error("the claim lost");
  const holder = { leaseId: plan.leaseId, fencingToken: plan.fencingToken, runnerId };
  expect(await coordinator.uploadPipeline(planId, holder, pipeline, null)).toBeNull();
  expect(await coordinator.complete(planId, holder, { status: "succeeded", exitCode: 0, steps: [] })).toBeNull();
  return { coordinator, view: await coordinator.view() };
}

describe("runtimes at plan time", () => {
  it("a pool reports every label its runners online claimed with", async () => {
    const pool = runnerDispatcher(env, workspacePool(crypto.randomUUID()));
    await pool.claim({ runnerId: crypto.randomUUID(), labels: ["linux", "node-20", "python-3.12"] }, 0);
    await pool.claim({ runnerId: crypto.randomUUID(), labels: ["docker", "node-22"] }, 0);
    expect(await pool.labelsOnline(90_000)).toEqual(["docker", "linux", "node-20", "node-22", "python-3.12"]);
  });

  it("fails the build when no runner online has the runtime, naming it and what runners have", async () => {
    await runnerDispatcher(env, workspacePool(workspaceId)).claim({ runnerId: crypto.randomUUID(), labels: ["linux", "node-7", "node-22"] }, 0);
    const { view } = await planned(needing("4"));
    expect(view?.status).toBe("failed");
    expect(view?.error).toMatch(
      /^No runner online has node-4, which job test needs \(its app pins node 4\); runners online have (node-\d+, )*node-22(, node-\d+)*\./,
    );
    expect(view?.error).toContain("node-7");
    expect(view?.jobs).toHaveLength(1);
  });

  it("offers the job with the runtime's label when a runner online has it", async () => {
    const { coordinator, view } = await planned(needing("7"));
    expect(view?.status).toBe("running");
    expect(view?.jobs.find((j) => j.name === "test")).toMatchObject({ status: "queued", labels: ["linux", "node-7"] });
    await coordinator.cancel();
  });
});
