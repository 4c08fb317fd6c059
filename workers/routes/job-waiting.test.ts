/**
 * A queued job says why it waits (GET /v1/builds/:id): no runner online at all, none online with
 * its labels while other runners are, or jobs it needs; and a queued build shows when it was
 * queued. Policy `never` keeps the build off the shared pool, whose runners belong to other tests.
 */
import { describe, expect, it } from "vitest";
import type { Pipeline } from "../../core/pipeline/index.ts";
import { call, createProject, createWorkspace, signup } from "../testing/api.js";
import { claimFor, lease, registerWorkspaceRunner } from "../testing/runner.js";
import { runnerReason } from "../services/job-waiting.js";

const job = (id: string, runsOn: string[], needs: string[]) => ({
  id,
  name: id,
  stage: "build" as const,
  app: ".",
  needs,
  runsOn,
  workingDirectory: ".",
  timeoutMinutes: 10,
  env: {},
  cache: null,
  steps: [{ name: "run", run: "true" }],
  artifacts: [],
  branches: null,
  deploy: null,
});

const pipeline: Pipeline = {
  version: 1,
  name: "app",
  triggers: { branches: ["**"], pullRequests: true },
  env: {},
  stages: [{ name: "build", jobs: ["train", "report"] }],
  jobs: [job("train", ["linux", "gpu"], []), job("report", ["linux"], ["train"])],
};

describe("why a job waits", () => {
  it("says no runner is online, then none with its labels, names the jobs it needs, and shows when the build was queued", async () => {
    const owner = await signup("waiting");
    const ws = (await createWorkspace(owner)).id;
    expect((await call("PATCH", `/v1/workspaces/${ws}`, { token: owner.accessToken, body: { sharedRunners: "never" } })).status).toBe(200);
    const project = await createProject(owner, ws);
    const res = await call("POST", `/v1/projects/${project.id}/builds`, { token: owner.accessToken, body: { commitSha: "d".repeat(40) } });
    expect(res.status, res.text).toBe(201);
    const buildId = res.body.id as string;
    const get = async () => (await call("GET", `/v1/builds/${buildId}`, { token: owner.accessToken })).body;

    const queued = await get();
    expect(queued).toMatchObject({ status: "queued", startedAt: null, queuedAt: res.body.createdAt });
    expect(queued.jobs).toEqual([expect.objectContaining({ kind: "plan", status: "queued", labels: [], waiting: { reason: "no runner online" } })]);

    // A linux runner plans it; the training job asks for a gpu, which no runner here has.
    const linux = await registerWorkspaceRunner(owner.accessToken, ws, ["linux"]);
    const plan = await claimFor(linux.runnerToken, buildId, "plan");
    const auth = { token: plan.jobToken };
    expect((await call("POST", `/v1/runner/jobs/${plan.jobId}/pipeline`, { ...auth, body: { ...lease(plan), pipeline } })).status).toBe(204);
    expect(
      (await call("POST", `/v1/runner/jobs/${plan.jobId}/complete`, { ...auth, body: { ...lease(plan), status: "succeeded", exitCode: 0, steps: [] } })).status,
    ).toBe(204);
    const planned = await get();
    expect(planned.jobs.map((j: { name: string; labels: string[]; waiting: unknown }) => [j.name, j.labels, j.waiting])).toEqual([
      ["plan", [], null],
      ["train", ["gpu", "linux"], { reason: "no runner online with labels gpu, linux" }],
      ["report", ["linux"], { reason: "waiting for train to succeed" }],
    ]);
  });

  it("tells a busy runner from a missing one", () => {
    expect(runnerReason(["linux"], { online: 0, idle: 0 })).toBe("no runner online with labels linux");
    expect(runnerReason(["linux"], { online: 1, idle: 0 })).toBe("the one runner with labels linux is busy");
    expect(runnerReason([], { online: 3, idle: 0 })).toBe("all 3 runners are busy");
    expect(runnerReason(["linux"], { online: 2, idle: 1 })).toBeNull();
  });
});
