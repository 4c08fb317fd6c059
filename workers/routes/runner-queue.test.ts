/**
 * GET /v1/workspaces/:id/runner-queue and the sparki_jobs_waiting gauge, read from the pools'
 * dispatchers while real builds wait: per label set, with what a kind of runner could take,
 * and both following claims. Policy `never` keeps this workspace's builds out of the shared
 * pool, so only its own runners (registered here) can move the counts.
 */
import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Pipeline } from "../../core/pipeline/index.ts";
import { runnerDispatcher } from "../../server/objects/clients.ts";
import { workspacePool } from "../../server/objects/runner-dispatcher/protocol.ts";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { claimFor, lease, registerWorkspaceRunner } from "../testing/runner.js";

const gpuPipeline: Pipeline = {
  version: 1,
  name: "app",
  triggers: { branches: ["**"], pullRequests: true },
  env: {},
  stages: [{ name: "build", jobs: ["train"] }],
  jobs: [
    {
      id: "train",
      name: "train",
      stage: "build",
      app: ".",
      needs: [],
      // Unsorted on purpose: the queue and the gauge show label sets sorted.
      runsOn: ["linux", "gpu"],
      workingDirectory: ".",
      timeoutMinutes: 10,
      env: {},
      cache: null,
      steps: [{ name: "fit", run: "python fit.py" }],
      artifacts: [],
      branches: null,
      deploy: null,
    },
  ],
};

let owner: TestUser;
let workspaceId: string;
beforeAll(async () => {
  owner = await signup("queue");
  workspaceId = (await createWorkspace(owner)).id;
  expect((await call("PATCH", `/v1/workspaces/${workspaceId}`, { token: owner.accessToken, body: { sharedRunners: "never" } })).status).toBe(200);
});

const queue = async (query = "", user = owner) => {
  const res = await call("GET", `/v1/workspaces/${workspaceId}/runner-queue${query}`, { token: user.accessToken });
  expect(res.status, res.text).toBe(200);
  return res.body;
};

async function trigger(projectId: string): Promise<string> {
  const res = await call("POST", `/v1/projects/${projectId}/builds`, { token: owner.accessToken, body: { branch: "main", commitSha: "e".repeat(40) } });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

/** The pool's gauge after its dispatcher's alarm pushed it (the alarm runs now rather than in a second). */
async function gauge(): Promise<string[]> {
  await runDurableObjectAlarm(runnerDispatcher(env, workspacePool(workspaceId)));
  const text = await (await SELF.fetch("http://sparki.test/metrics", { headers: { authorization: "Bearer metrics-token-for-tests" } })).text();
  return text.split("\n").filter((l) => l.startsWith("sparki_jobs_waiting{") && l.includes(`pool="workspace:${workspaceId}"`));
}

describe("the runner queue", () => {
  it("counts waiting jobs per label set, says what a kind of runner could take, and the gauge follows", async () => {
    const project = await createProject(owner, workspaceId);
    const first = await trigger(project.id);
    await trigger(project.id);
    const before = await queue();
    expect(before).toMatchObject({
      workspaceId,
      pools: { workspace: { waiting: 2, labelSets: [{ labels: [], jobs: 2 }] }, shared: { waiting: 0, labelSets: [] } },
    });
    expect(Date.parse(before.pools.workspace.labelSets[0].oldestQueuedAt)).not.toBeNaN();

    // A plain runner plans the first build, whose one job asks for linux and gpu.
    const plain = await registerWorkspaceRunner(owner.accessToken, workspaceId, ["linux"]);
    const plan = await claimFor(plain.runnerToken, first, "plan");
    const token = { token: plan.jobToken };
    expect((await call("POST", `/v1/runner/jobs/${plan.jobId}/pipeline`, { ...token, body: { ...lease(plan), pipeline: gpuPipeline } })).status).toBe(204);
    expect(
      (await call("POST", `/v1/runner/jobs/${plan.jobId}/complete`, { ...token, body: { ...lease(plan), status: "succeeded", exitCode: 0, steps: [] } }))
        .status,
    ).toBe(204);

    const after = await queue("?runnerLabels=linux");
    expect(after.pools.workspace).toMatchObject({ waiting: 2, matching: 1 });
    expect(after.pools.workspace.labelSets).toEqual(
      expect.arrayContaining([expect.objectContaining({ labels: [], jobs: 1 }), expect.objectContaining({ labels: ["gpu", "linux"], jobs: 1 })]),
    );
    expect((await queue("?runnerLabels=gpu,linux,docker")).pools.workspace.matching).toBe(2);
    expect((await gauge()).sort()).toEqual([
      `sparki_jobs_waiting{labels="",pool="workspace:${workspaceId}"} 1`,
      `sparki_jobs_waiting{labels="gpu,linux",pool="workspace:${workspaceId}"} 1`,
    ]);

    // A gpu runner takes the training job: its label set leaves the queue and the gauge.
    const gpu = await registerWorkspaceRunner(owner.accessToken, workspaceId, ["linux", "gpu"]);
    await claimFor(gpu.runnerToken, first, "steps");
    expect((await queue()).pools.workspace).toMatchObject({ waiting: 1, labelSets: [{ labels: [], jobs: 1 }] });
    expect(await gauge()).toEqual([`sparki_jobs_waiting{labels="",pool="workspace:${workspaceId}"} 1`]);
  });

  it("any member reads it; a malformed label list is a 400 problem", async () => {
    const viewer = await signup("queue-viewer");
    await addMember(owner, workspaceId, viewer, "viewer");
    expect((await queue("", viewer)).workspaceId).toBe(workspaceId);
    expectProblem(
      await call("GET", `/v1/workspaces/${workspaceId}/runner-queue?runnerLabels=${encodeURIComponent("bad label")}`, { token: owner.accessToken }),
      400,
    );
    expectProblem(await call("GET", `/v1/workspaces/${workspaceId}/runner-queue?other=1`, { token: owner.accessToken }), 400);
  });
});
