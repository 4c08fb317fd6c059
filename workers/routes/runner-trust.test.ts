/**
 * Who may run a workspace's jobs: the shared-runner policy (set by owners and admins, enforced
 * when a shared runner claims), revoking a runner, and leases bound to the runner that claimed
 * them, down to the coordinator.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../core/contracts/runner.ts";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { claimFor, claimUntil, lease, registerRunnerWithId, registerWorkspaceRunner } from "../testing/runner.js";
import { buildCoordinator } from "../../server/objects/clients.js";

let owner: TestUser;
let workspaceId: string;
beforeAll(async () => {
  owner = await signup("trust");
  workspaceId = (await createWorkspace(owner)).id;
});

async function project(secret: string | null, ws = workspaceId) {
  const p = await createProject(owner, ws);
  if (secret) expect((await call("PUT", `/v1/projects/${p.id}/secrets/TOKEN`, { token: owner.accessToken, body: { value: secret } })).status).toBe(201);
  return p;
}

async function trigger(projectId: string): Promise<string> {
  const res = await call("POST", `/v1/projects/${projectId}/builds`, { token: owner.accessToken, body: { commitSha: "c".repeat(40) } });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

const release = (job: Job) => call("POST", `/v1/runner/jobs/${job.jobId}/release`, { token: job.jobToken, body: { ...lease(job), reason: "shutdown" } });

/**
 * Claims with a shared runner until `wanted`'s plan job comes, handing back anything else; fails
 * if a build in `never` is ever handed to it.
 */
function sharedClaimsUntil(runnerToken: string, wanted: string, never: string[]): Promise<Job> {
  return claimUntil(
    runnerToken,
    (job) => job.buildId === wanted,
    `job of ${wanted} for the shared runner`,
    (job) => expect(never).not.toContain(job.buildId),
  );
}

const setPolicy = (sharedRunners: string, ws = workspaceId, user = owner) =>
  call("PATCH", `/v1/workspaces/${ws}`, { token: user.accessToken, body: { sharedRunners } });

describe("the shared-runner policy", () => {
  it("by default keeps a build with secrets off shared runners, which take the next build; the workspace's runner gets it with its secrets", async () => {
    expect((await call("GET", `/v1/workspaces/${workspaceId}`, { token: owner.accessToken })).body.sharedRunners).toBe("no-secrets");
    const withSecrets = await trigger((await project("secret-value-1")).id);
    const plain = await trigger((await project(null)).id);
    const shared = await registerRunnerWithId();
    const job = await sharedClaimsUntil(shared.runnerToken, plain, [withSecrets]);
    expect(job.secrets).toEqual([]);
    await release(job);
    const own = await registerWorkspaceRunner(owner.accessToken, workspaceId);
    const held = await claimFor(own.runnerToken, withSecrets, "plan");
    expect(held.secrets).toEqual([{ name: "TOKEN", value: "secret-value-1" }]);
    await release(held);
  });

  it("`never` keeps every build off shared runners; `always` lets them take builds with secrets", async () => {
    const strict = (await createWorkspace(owner, "Strict")).id;
    expect((await setPolicy("never", strict)).body.sharedRunners).toBe("never");
    const kept = await trigger((await project(null, strict)).id);
    const open = await trigger((await project(null)).id);
    const shared = await registerRunnerWithId();
    await release(await sharedClaimsUntil(shared.runnerToken, open, [kept]));

    expect((await setPolicy("always", strict)).body.sharedRunners).toBe("always");
    const trusted = await trigger((await project("secret-value-2", strict)).id);
    const job = await sharedClaimsUntil(shared.runnerToken, trusted, []);
    expect(job.secrets).toEqual([{ name: "TOKEN", value: "secret-value-2" }]);
    await release(job);
    const audit = await call("GET", `/v1/workspaces/${strict}/audit-logs?action=workspace.shared_runners`, { token: owner.accessToken });
    expect(audit.body.items.map((i: { details: { sharedRunners: string } }) => i.details.sharedRunners)).toEqual(["always", "never"]);
  });

  it("is lifted by DEV_TRUST_SHARED_RUNNERS (a development stack's own runner takes everything)", async () => {
    const worker = (await import("../index.js")).default;
    const devEnv = { ...env, DEV_TRUST_SHARED_RUNNERS: "true" };
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    const withSecrets = await trigger((await project("secret-value-3")).id);
    const shared = await registerRunnerWithId();
    const devClaim = async (runnerToken: string): Promise<Job | null> => {
      const res = await worker.fetch(
        new Request("http://sparki.test/v1/runner/claim", {
          method: "POST",
          headers: { authorization: `Bearer ${runnerToken}`, "content-type": "application/json" },
          body: JSON.stringify({ capacity: 1 }),
        }),
        devEnv,
        ctx,
      );
      return res.status === 200 ? ((await res.json()) as Job) : null;
    };
    const job = await claimUntil(
      shared.runnerToken,
      (j) => j.buildId === withSecrets,
      "the build with secrets for the trusted shared runner",
      undefined,
      devClaim,
    );
    expect(job.secrets).toEqual([{ name: "TOKEN", value: "secret-value-3" }]);
    await release(job);
  });

  it("only owners and admins set it, to one of the three values", async () => {
    const developer = await signup("trust-dev");
    await addMember(owner, workspaceId, developer, "developer");
    const outsider = await signup("trust-out");
    expectProblem(await setPolicy("always", workspaceId, developer), 403);
    expectProblem(await setPolicy("always", workspaceId, outsider), 404);
    expectProblem(await setPolicy("sometimes"), 400);
    expectProblem(await call("PATCH", `/v1/workspaces/${workspaceId}`, { token: owner.accessToken, body: {} }), 400);
    expect((await call("GET", `/v1/workspaces/${workspaceId}`, { token: owner.accessToken })).body.sharedRunners).toBe("no-secrets");
  });
});

describe("revoking a runner", () => {
  it("is for owners and admins of its workspace, stops its token and requeues what it held", async () => {
    const developer = await signup("revoke-dev");
    await addMember(owner, workspaceId, developer, "developer");
    const other = await signup("revoke-other");
    const otherWs = (await createWorkspace(other)).id;
    const runner = await registerWorkspaceRunner(owner.accessToken, workspaceId);
    const shared = await registerRunnerWithId();
    const buildId = await trigger((await project(null)).id);
    const job = await claimFor(runner.runnerToken, buildId, "plan");
    const path = `/v1/workspaces/${workspaceId}/runners/${runner.runnerId}`;
    expectProblem(await call("DELETE", path, { token: developer.accessToken }), 403);
    expectProblem(await call("DELETE", path, { token: other.accessToken }), 404);
    expectProblem(await call("DELETE", `/v1/workspaces/${otherWs}/runners/${runner.runnerId}`, { token: other.accessToken }), 404);
    // A shared runner belongs to no workspace: no workspace's admin revokes it.
    expectProblem(await call("DELETE", `/v1/workspaces/${workspaceId}/runners/${shared.runnerId}`, { token: owner.accessToken }), 404);

    expect((await call("DELETE", path, { token: owner.accessToken })).status).toBe(204);
    expectProblem(await call("POST", "/v1/runner/claim", { token: runner.runnerToken, body: { capacity: 1 } }), 401);
    expectProblem(await call("POST", `/v1/runner/jobs/${job.jobId}/heartbeat`, { token: job.jobToken, body: lease(job) }), 401);
    const view = await call("GET", `/v1/builds/${buildId}`, { token: owner.accessToken });
    expect(view.body.jobs[0]).toMatchObject({ id: job.jobId, status: "queued" });
    expectProblem(await call("DELETE", path, { token: owner.accessToken }), 404);
    const audit = await call("GET", `/v1/workspaces/${workspaceId}/audit-logs?action=runner.revoke`, { token: owner.accessToken });
    expect(audit.body.items[0]).toMatchObject({ resourceId: runner.runnerId, result: "success" });
    await call("POST", `/v1/builds/${buildId}/cancel`, { token: owner.accessToken });
  });
});

describe("leases", () => {
  it("are bound to the runner that claimed them, in the coordinator itself", async () => {
    const runner = await registerWorkspaceRunner(owner.accessToken, workspaceId);
    const buildId = await trigger((await project(null)).id);
    const job = await claimFor(runner.runnerToken, buildId, "plan");
    const coordinator = buildCoordinator(env, buildId);
    expect(await coordinator.heartbeat(job.jobId, { ...lease(job), runnerId: crypto.randomUUID() })).toMatchObject({ refused: "lease_lost" });
    expect(await coordinator.heartbeat(job.jobId, { ...lease(job), runnerId: runner.runnerId })).toMatchObject({ cancel: false });
    // A user's access token is no job token, even for the right job.
    expectProblem(await call("POST", `/v1/runner/jobs/${job.jobId}/heartbeat`, { token: owner.accessToken, body: lease(job) }), 401);
    await release(job);
    await call("POST", `/v1/builds/${buildId}/cancel`, { token: owner.accessToken });
  });
});
