/**
 * A build whose pipeline has a job that makes an artifact (`build`), one that needs it (`deploy`)
 * and one that does not (`lint`), in a workspace of its own that keeps off the shared pool (whose
 * runners belong to other tests), planned by a scripted runner. For the artifact routes' tests.
 */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import type { Job } from "../../core/contracts/runner.ts";
import type { Pipeline } from "../../core/pipeline/index.ts";
import { call, createProject, createWorkspace, type TestUser } from "./api.js";
import { claimFor, claimUntil, lease, registerWorkspaceRunner } from "./runner.js";

const pipelineJob = (id: string, needs: string[], artifacts: string[]) => ({
  id,
  name: id,
  stage: "build" as const,
  app: ".",
  needs,
  runsOn: ["linux"],
  workingDirectory: ".",
  timeoutMinutes: 10,
  env: {},
  cache: null,
  // The step is named after the job: how a test tells the claimed jobs apart.
  steps: [{ name: id, run: "true" }],
  artifacts,
  branches: null,
  deploy: null,
});

export const needsPipeline: Pipeline = {
  version: 1,
  name: "needs",
  triggers: { branches: ["**"], pullRequests: true },
  env: {},
  stages: [{ name: "build", jobs: ["build", "lint", "deploy"] }],
  jobs: [pipelineJob("build", [], ["dist"]), pipelineJob("lint", [], []), pipelineJob("deploy", ["build"], [])],
};

export interface NeedsBuild {
  workspaceId: string;
  projectId: string;
  buildId: string;
  runnerToken: string;
  /** Claims the build's job of that name (handing others back). */
  claim: (name: "build" | "lint" | "deploy") => Promise<Job>;
}

/** A planned build of {@link needsPipeline} in a fresh workspace of `owner`'s. */
export async function needsBuild(owner: TestUser): Promise<NeedsBuild> {
  const workspaceId = (await createWorkspace(owner)).id;
  expect((await call("PATCH", `/v1/workspaces/${workspaceId}`, { token: owner.accessToken, body: { sharedRunners: "never" } })).status).toBe(200);
  const project = await createProject(owner, workspaceId);
  const res = await call("POST", `/v1/projects/${project.id}/builds`, { token: owner.accessToken, body: { commitSha: "e".repeat(40) } });
  expect(res.status, res.text).toBe(201);
  const buildId = res.body.id as string;
  const { runnerToken } = await registerWorkspaceRunner(owner.accessToken, workspaceId, ["linux"]);
  const plan = await claimFor(runnerToken, buildId, "plan");
  const auth = { token: plan.jobToken };
  expect((await call("POST", `/v1/runner/jobs/${plan.jobId}/pipeline`, { ...auth, body: { ...lease(plan), pipeline: needsPipeline } })).status).toBe(204);
  const done = await call("POST", `/v1/runner/jobs/${plan.jobId}/complete`, { ...auth, body: { ...lease(plan), status: "succeeded", exitCode: 0, steps: [] } });
  expect(done.status, done.text).toBe(204);
  const claim = (name: string) => claimUntil(runnerToken, (j) => j.buildId === buildId && j.steps[0]?.name === name, `${name} job of ${buildId}`);
  return { workspaceId, projectId: project.id, buildId, runnerToken, claim };
}

/** Completes a held job as succeeded (so the jobs that need it become ready). */
export async function succeed(job: Job): Promise<void> {
  const steps = job.steps.map((s) => ({
    id: s.id,
    status: "succeeded",
    exitCode: 0,
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
  }));
  const res = await call("POST", `/v1/runner/jobs/${job.jobId}/complete`, {
    token: job.jobToken,
    body: { ...lease(job), status: "succeeded", exitCode: 0, steps },
  });
  expect(res.status, res.text).toBe(204);
}

/** Uploads `bytes` as the job's artifact `name` through the API, with the SHA-256 it claims (default: the right one). */
export async function uploadThrough(job: Job, name: string, bytes: Uint8Array, sha256?: string): Promise<Response> {
  const digest = sha256 ?? [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return SELF.fetch(`http://sparki.test/v1/runner/jobs/${job.jobId}/artifacts/${name}`, {
    method: "PUT",
    headers: {
      authorization: `Bearer ${job.jobToken}`,
      "sparki-lease-id": job.leaseId,
      "sparki-fencing-token": String(job.fencingToken),
      "sparki-artifact-kind": "file",
      "sparki-artifact-sha256": digest,
      "content-length": String(bytes.byteLength),
    },
    body: bytes,
  });
}

/** GET of a needed artifact with `job`'s token and lease headers. */
export function downloadNeeded(job: Job, name: string, asJobId = job.jobId): Promise<Response> {
  return SELF.fetch(`http://sparki.test/v1/runner/jobs/${asJobId}/needs/artifacts/${name}`, {
    headers: { authorization: `Bearer ${job.jobToken}`, "sparki-lease-id": job.leaseId, "sparki-fencing-token": String(job.fencingToken) },
    redirect: "manual",
  });
}
