/**
 * Attacks on the runner protocol, on the real local stack (wrangler dev, Postgres, the cache, a
 * real `sparki-runner` in the shared pool): what a step that stole its job's token, a runner
 * holding another runner's lease values, a workspace runner fishing for other tenants' jobs, and
 * a revoked runner can do. Each was possible before job tokens, runner-bound leases, the
 * shared-runner policy and revocation; each must fail now.
 *
 * Every tenant here that is not about the shared pool sets its policy to `never`, so the shared
 * runner of the last test never takes their builds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../core/contracts/runner.ts";
import { E2E, oneStepYml, until } from "../e2e/support.js";

const e2e = new E2E();
const PROTOCOL = { "sparki-runner-protocol": "2" };

interface Tenant {
  token: string;
  workspaceId: string;
}

async function call<T = any>(token: string | null, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; body: T }> {
  const res = await fetch(`${e2e.stack.apiUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...PROTOCOL, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A user with a workspace of their own, its shared-runner policy set to `policy`. */
async function tenant(name: string, policy: "never" | "no-secrets" | "always"): Promise<Tenant> {
  const { accessToken: token } = await e2e.signup(`${name}-${crypto.randomUUID().slice(0, 8)}@sparki.test`, "a tenant's long password", name);
  const ws = await call(token, "POST", "/v1/workspaces", { name });
  expect(ws.status).toBe(201);
  expect(ws.body.sharedRunners).toBe("no-secrets");
  if (policy !== "no-secrets") {
    const set = await call(token, "PATCH", `/v1/workspaces/${ws.body.id}`, { sharedRunners: policy });
    expect(set.body.sharedRunners).toBe(policy);
  }
  return { token, workspaceId: ws.body.id };
}

/** A runner registered into the tenant's own pool, spoken to over raw HTTP. */
async function workspaceRunner(t: Tenant, labels = ["linux"]): Promise<{ runnerId: string; runnerToken: string }> {
  const reg = await call(t.token, "POST", `/v1/workspaces/${t.workspaceId}/runner-tokens`, { name: "attack" });
  const res = await call(null, "POST", "/v1/runner/register", { token: reg.body.token, name: "attacker", labels, version: "test" });
  expect(res.status).toBe(201);
  return res.body;
}

/**
 * A project over a fresh repository and a build of it: of a made-up commit (enough for raw-HTTP
 * runners, which never clone), or of `main` when a real runner is to run it.
 */
async function build(
  t: Tenant,
  name: string,
  files: Record<string, string> = { "package.json": "{}" },
  runnable = false,
): Promise<{ projectId: string; buildId: string }> {
  const repo = await e2e.gitRepo(`${name}-${crypto.randomUUID().slice(0, 6)}`, files);
  const project = await call(t.token, "POST", `/v1/workspaces/${t.workspaceId}/projects`, { name: `${name}-${crypto.randomUUID().slice(0, 6)}`, gitUrl: repo });
  expect(project.status).toBe(201);
  const started = await call(t.token, "POST", `/v1/projects/${project.body.id}/builds`, runnable ? { branch: "main" } : { commitSha: "a".repeat(40) });
  expect(started.status).toBe(201);
  return { projectId: project.body.id, buildId: started.body.id };
}

/** One claim; null when nothing came within `waitMs` (the request is abandoned, never reused). */
async function claim(runnerToken: string, waitMs = 25_000): Promise<Job | null> {
  const res = await call<Job>(runnerToken, "POST", "/v1/runner/claim", { capacity: 1 }, AbortSignal.timeout(waitMs)).catch(() => null);
  if (!res || res.status === 204) return null;
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

const lease = (job: Job) => ({ leaseId: job.leaseId, fencingToken: job.fencingToken });
const jobStatus = async (t: Tenant, buildId: string, jobId: string) =>
  ((await call(t.token, "GET", `/v1/builds/${buildId}`)).body.jobs as { id: string; status: string }[]).find((j) => j.id === jobId)?.status;

beforeAll(async () => {
  await e2e.start();
}, 180_000);

afterAll(async () => {
  await e2e.close();
});

describe("the runner protocol under attack", () => {
  it("a stolen job token cannot claim, and acts on its own job only", async () => {
    const t = await tenant("thief", "never");
    const runner = await workspaceRunner(t);
    const first = await build(t, "first");
    const second = await build(t, "second");
    const job = await claim(runner.runnerToken);
    if (!job) throw new Error("expected a job");
    const other = await claim(runner.runnerToken);
    if (!other) throw new Error("expected a second job");
    expect([first.buildId, second.buildId].sort()).toEqual([job.buildId, other.buildId].sort());

    expect((await call(job.jobToken, "POST", "/v1/runner/claim", { capacity: 1 })).status).toBe(401);
    // Nor end its runner's claims (the runner token alone may say the runner left).
    expect((await call(job.jobToken, "POST", "/v1/runner/disconnect")).status).toBe(401);
    // Its token on the other job of the same runner: refused, whatever lease values it sends.
    expect((await call(job.jobToken, "POST", `/v1/runner/jobs/${other.jobId}/heartbeat`, lease(other))).status).toBe(401);
    expect(
      (await call(job.jobToken, "POST", `/v1/runner/jobs/${other.jobId}/complete`, { ...lease(other), status: "succeeded", exitCode: 0, steps: [] })).status,
    ).toBe(401);
    // The runner token works on no job route any more.
    expect((await call(runner.runnerToken, "POST", `/v1/runner/jobs/${job.jobId}/heartbeat`, lease(job))).status).toBe(401);
    expect((await call(job.jobToken, "POST", `/v1/runner/jobs/${job.jobId}/heartbeat`, lease(job))).status).toBe(200);
    for (const j of [job, other]) await call(j.jobToken, "POST", `/v1/runner/jobs/${j.jobId}/release`, { ...lease(j), reason: "shutdown" });
  });

  it("another runner holding one runner's lease values gets 401 or 409, never the job", async () => {
    const t = await tenant("lease", "never");
    const owner = await workspaceRunner(t);
    const intruder = await workspaceRunner(t);
    const first = await build(t, "held");
    const job = await claim(owner.runnerToken);
    if (!job) throw new Error("expected a job");
    expect(job.buildId).toBe(first.buildId);
    // With its own runner token: not a job credential.
    expect((await call(intruder.runnerToken, "POST", `/v1/runner/jobs/${job.jobId}/heartbeat`, lease(job))).status).toBe(401);
    // With a job token of its own (another job), the right lease values and the right job id.
    await build(t, "decoy");
    const decoy = await claim(intruder.runnerToken);
    if (!decoy) throw new Error("expected the decoy job");
    for (const path of ["heartbeat", "complete", "release"]) {
      const res = await call(decoy.jobToken, "POST", `/v1/runner/jobs/${job.jobId}/${path}`, {
        ...lease(job),
        status: "succeeded",
        exitCode: 0,
        steps: [],
        reason: "shutdown",
      });
      expect([401, 409], `${path}: ${JSON.stringify(res.body)}`).toContain(res.status);
    }
    // The decoy's own job with the first job's lease values: 409, the lease is not the token's.
    expect((await call(decoy.jobToken, "POST", `/v1/runner/jobs/${decoy.jobId}/heartbeat`, lease(job))).status).toBe(409);
    expect(await jobStatus(t, first.buildId, job.jobId)).not.toBe("succeeded");
    for (const j of [job, decoy]) await call(j.jobToken, "POST", `/v1/runner/jobs/${j.jobId}/release`, { ...lease(j), reason: "shutdown" });
  });

  it("a workspace's runner is never handed another workspace's job", async () => {
    const mine = await tenant("mine", "never");
    const theirs = await tenant("theirs", "never");
    const fisher = await workspaceRunner(mine);
    const victim = await build(theirs, "victim");
    const own = await build(mine, "own");
    const got = await claim(fisher.runnerToken);
    expect(got?.buildId).toBe(own.buildId);
    // Nothing else is in its pool: the victim's plan job stays queued while it asks again.
    expect(await claim(fisher.runnerToken, 4000)).toBeNull();
    expect(await jobStatus(theirs, victim.buildId, `${victim.buildId}.0`)).toBe("queued");
    const rightful = await claim((await workspaceRunner(theirs)).runnerToken);
    expect(rightful?.buildId).toBe(victim.buildId);
    for (const j of [got, rightful]) if (j) await call(j.jobToken, "POST", `/v1/runner/jobs/${j.jobId}/release`, { ...lease(j), reason: "shutdown" });
  });

  it("request labels cannot widen what a runner gets", async () => {
    const t = await tenant("labels", "never");
    const linux = await workspaceRunner(t, ["linux"]);
    const repo = await build(t, "gpu");
    expect((await call(linux.runnerToken, "POST", "/v1/runner/claim", { labels: ["gpu", "linux"], capacity: 1 })).status).toBe(400);
    // Plan a pipeline whose one job asks for a gpu.
    const plan = await claim(linux.runnerToken);
    if (!plan) throw new Error("expected the plan job");
    const pipeline = {
      version: 1,
      name: "gpu",
      triggers: { branches: ["*"], pullRequests: false },
      env: {},
      stages: [{ name: "build", jobs: ["train"] }],
      jobs: [
        {
          id: "train",
          name: "train",
          stage: "build",
          app: ".",
          needs: [],
          runsOn: ["gpu"],
          workingDirectory: ".",
          timeoutMinutes: 5,
          env: {},
          cache: null,
          steps: [{ name: "train", run: "true" }],
          artifacts: [],
          branches: null,
          deploy: null,
        },
      ],
    };
    expect((await call(plan.jobToken, "POST", `/v1/runner/jobs/${plan.jobId}/pipeline`, { ...lease(plan), pipeline, commitSha: "a".repeat(40) })).status).toBe(
      204,
    );
    expect(
      (await call(plan.jobToken, "POST", `/v1/runner/jobs/${plan.jobId}/complete`, { ...lease(plan), status: "succeeded", exitCode: 0, steps: [] })).status,
    ).toBe(204);
    expect(await claim(linux.runnerToken, 4000)).toBeNull();
    const gpu = await claim((await workspaceRunner(t, ["gpu", "linux"])).runnerToken);
    expect(gpu?.jobId).toBe(`${repo.buildId}.1`);
    if (gpu) await call(gpu.jobToken, "POST", `/v1/runner/jobs/${gpu.jobId}/release`, { ...lease(gpu), reason: "shutdown" });
  });

  it("a revoked runner's token and job token stop at once, and its job is requeued", async () => {
    const t = await tenant("revoke", "never");
    const stranger = await tenant("stranger", "never");
    const runner = await workspaceRunner(t);
    const { buildId } = await build(t, "revoked");
    const job = await claim(runner.runnerToken);
    if (!job) throw new Error("expected a job");
    expect((await call(stranger.token, "DELETE", `/v1/workspaces/${stranger.workspaceId}/runners/${runner.runnerId}`)).status).toBe(404);
    expect((await call(stranger.token, "DELETE", `/v1/workspaces/${t.workspaceId}/runners/${runner.runnerId}`)).status).toBe(404);
    expect((await call(t.token, "DELETE", `/v1/workspaces/${t.workspaceId}/runners/${runner.runnerId}`)).status).toBe(204);
    expect((await call(runner.runnerToken, "POST", "/v1/runner/claim", { capacity: 1 })).status).toBe(401);
    expect((await call(job.jobToken, "POST", `/v1/runner/jobs/${job.jobId}/heartbeat`, lease(job))).status).toBe(401);
    expect(
      (await call(job.jobToken, "POST", `/v1/runner/jobs/${job.jobId}/complete`, { ...lease(job), status: "succeeded", exitCode: 0, steps: [] })).status,
    ).toBe(401);
    await until("the revoked runner's job to be queued again", async () => (await jobStatus(t, buildId, job.jobId)) === "queued", 15_000);
    const audit = await call(t.token, "GET", `/v1/workspaces/${t.workspaceId}/audit-logs?action=runner.revoke`);
    expect(JSON.stringify(audit.body)).toContain(runner.runnerId);
  });

  it("a shared runner never gets a build with secrets under the default policy, nor sees another workspace's secret", { timeout: 240_000 }, async () => {
    const secret = `b-secret-${crypto.randomUUID()}`;
    const victim = await tenant("secretive", "no-secrets");
    const bystander = await tenant("open", "no-secrets");
    const victimRepo = await e2e.gitRepo(`victim-${crypto.randomUUID().slice(0, 6)}`, { "package.json": "{}", "sparki.yml": oneStepYml("echo victim") });
    const project = await call(victim.token, "POST", `/v1/workspaces/${victim.workspaceId}/projects`, { name: "victim", gitUrl: victimRepo });
    expect((await call(victim.token, "PUT", `/v1/projects/${project.body.id}/secrets/DEPLOY_TOKEN`, { value: secret })).status).toBe(201);
    // Queued first, so the shared runner meets it before the build it may take.
    const victimBuild = (await call(victim.token, "POST", `/v1/projects/${project.body.id}/builds`, { branch: "main" })).body.id as string;
    const open = await build(bystander, "open", { "package.json": "{}", "sparki.yml": oneStepYml("env; echo done") }, true);

    const shared = await e2e.runner("shared", { pool: "shared" });
    await until(
      "the bystander's build to succeed on the shared runner",
      async () => (await call(bystander.token, "GET", `/v1/builds/${open.buildId}`)).body.status === "succeeded",
      150_000,
      { diagnostics: () => shared.output().slice(-3000) },
    );
    const log = await fetch(`${e2e.stack.apiUrl}/v1/builds/${open.buildId}/logs.txt`, { headers: { authorization: `Bearer ${bystander.token}` } }).then((r) =>
      r.text(),
    );
    expect(log).toContain("done");
    expect(log).not.toContain(secret);
    expect(shared.output()).not.toContain(victimBuild);
    expect(shared.output()).not.toContain(secret);
    expect((await call(victim.token, "GET", `/v1/builds/${victimBuild}`)).body.status).toBe("queued");

    // The victim's own runner gets it, secrets and all.
    const own = await claim((await workspaceRunner(victim)).runnerToken);
    expect(own?.buildId).toBe(victimBuild);
    expect(own?.secrets).toEqual([{ name: "DEPLOY_TOKEN", value: secret }]);
    if (own) await call(own.jobToken, "POST", `/v1/runner/jobs/${own.jobId}/release`, { ...lease(own), reason: "shutdown" });
    await call(victim.token, "POST", `/v1/builds/${victimBuild}/cancel`);
  });
});
