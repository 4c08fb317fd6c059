/**
 * Attacks on runtime labels (core/runtimes/labels.ts): a runner reports its runtimes with every
 * claim, and a plan job's pipeline names the runtime each job needs. A hostile runner's list
 * (huge, malformed, or a policy label such as `gpu` dressed as a runtime) and a hostile pipeline's
 * runtime are refused with a 400 problem, never a 500 and never matched against a job.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_RUNTIME_LABELS } from "../../core/runtimes/labels.ts";
import { call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../../workers/testing/api.js";
import { claimUntil, lease, registerRunner, registerWorkspaceRunner } from "../../workers/testing/runner.js";

let runnerToken: string;
let owner: TestUser;
let workspaceId: string;
beforeAll(async () => {
  runnerToken = await registerRunner(["linux"]);
  owner = await signup("runtime-labels");
  workspaceId = (await createWorkspace(owner, "Runtimes")).id;
});

const claimWith = (runtimes: unknown) => call("POST", "/v1/runner/claim", { token: runnerToken, body: { capacity: 1, runtimes } });

describe("hostile runtime labels", () => {
  it("a claim's runtime list that is too long is a 400", async () => {
    const many = Array.from({ length: MAX_RUNTIME_LABELS + 1 }, (_, i) => `node-${i + 1}`);
    expectProblem(await claimWith(many), 400, "validation");
    expectProblem(await claimWith(Array.from({ length: 100_000 }, () => "node-22")), 400, "validation");
  });

  it("a malformed runtime label is a 400, whatever it smuggles", async () => {
    for (const bad of [
      "gpu",
      "linux",
      "trusted",
      "NODE-22",
      "node-22.1",
      "python-3",
      "ruby-3.3",
      "node-22 ",
      "node-22,gpu",
      "node-22\u0000gpu",
      "../../node-22",
      `node-${"9".repeat(5000)}`,
      "",
      42,
      null,
      { name: "node", version: "22" },
      ["node-22"],
    ]) {
      expectProblem(await claimWith([bad]), 400, "validation");
    }
    expectProblem(await claimWith("node-22"), 400, "validation");
    expectProblem(await claimWith({ length: 1, 0: "node-22" }), 400, "validation");
  });

  it("a body too large to be a claim is refused with a 4xx, not parsed", async () => {
    const res = await call("POST", "/v1/runner/claim", {
      token: runnerToken,
      rawBody: JSON.stringify({ capacity: 1, runtimes: ["x".repeat(8 * 1024 * 1024)] }),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("a plan job's pipeline naming a runtime no runner could report is a 400", async () => {
    const project = await createProject(owner, workspaceId);
    const started = await call("POST", `/v1/projects/${project.id}/builds`, { token: owner.accessToken, body: { commitSha: "c".repeat(40) } });
    expect(started.status, started.text).toBe(201);
    const runner = await registerWorkspaceRunner(owner.accessToken, workspaceId);
    const plan = await claimUntil(runner.runnerToken, (j) => j.buildId === started.body.id, "the plan job");
    const job = (runtime: unknown) => ({
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
      steps: [{ name: "test", run: "true" }],
      artifacts: [],
      branches: null,
      deploy: null,
      runtime,
    });
    for (const runtime of [
      { name: "ruby", version: "3.3" },
      { name: "node", version: "22.1" },
      { name: "node", version: "../../22" },
      { name: "python", version: "3" },
      { name: "node", version: "22", label: "gpu" },
      "node-22",
    ]) {
      const pipeline = { version: 1, name: "p", triggers: { branches: ["*"], pullRequests: false }, env: {}, stages: [], jobs: [job(runtime)] };
      const res = await call("POST", `/v1/runner/jobs/${plan.jobId}/pipeline`, {
        token: plan.jobToken,
        body: { ...lease(plan), pipeline, commitSha: "c".repeat(40) },
      });
      expectProblem(res, 400, "validation");
    }
    // Cancelled, not handed back: no job of this test is left in the shared pool for other files' runners.
    const cancelled = await call("POST", `/v1/builds/${started.body.id}/cancel`, { token: owner.accessToken });
    expect(cancelled.status, cancelled.text).toBe(200);
  });
});
