import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { buildCoordinator } from "../../server/objects/clients.ts";
import { until } from "../../test/until.ts";
import type { ViewerFrame } from "../../core/contracts/logs.ts";
import type { Job } from "../../core/contracts/runner.ts";
import type { Pipeline } from "../../core/pipeline/index.ts";
import type { Detection } from "../../core/detect/index.ts";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { claimFor as claimJobOf, Frames, lease, openRunnerLog, registerWorkspaceRunner } from "../testing/runner.js";

const sha = "a".repeat(40);
const pipeline: Pipeline = {
  version: 1,
  name: "app",
  triggers: { branches: ["**"], pullRequests: true },
  env: {},
  stages: [{ name: "build", jobs: ["build"] }],
  jobs: [
    {
      id: "build",
      name: "build",
      stage: "build",
      app: ".",
      needs: [],
      runsOn: ["linux"],
      workingDirectory: ".",
      timeoutMinutes: 10,
      env: { GREETING: "hi" },
      cache: null,
      steps: [{ name: "compile", run: "echo compiling" }],
      artifacts: ["dist"],
      branches: null,
      deploy: null,
    },
  ],
};

let owner: TestUser;
let workspaceId: string;
let runnerToken: string;
beforeAll(async () => {
  owner = await signup("builds");
  workspaceId = (await createWorkspace(owner)).id;
  // The workspace's own pool only: in the shared pool another file's claim loop (files run side by
  // side in one runtime) can take a job of this file and hand it back behind the rest, so a claim
  // loop here may lap the pool before its job comes round again.
  const policy = await call("PATCH", `/v1/workspaces/${workspaceId}`, { token: owner.accessToken, body: { sharedRunners: "never" } });
  expect(policy.status, policy.text).toBe(200);
  runnerToken = (await registerWorkspaceRunner(owner.accessToken, workspaceId)).runnerToken;
});

async function trigger(projectId: string, user = owner) {
  const res = await call("POST", `/v1/projects/${projectId}/builds`, { token: user.accessToken, body: { branch: "main", commitSha: sha } });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; number: number; status: string };
}

const claimFor = (buildId: string, kind: "plan" | "steps"): Promise<Job> => claimJobOf(runnerToken, buildId, kind);

async function runPlan(buildId: string, detection?: Detection): Promise<void> {
  const plan = await claimFor(buildId, "plan");
  expect(plan).toMatchObject({ kind: "plan", repo: { url: "https://github.com/acme/app.git", branch: "main", commitSha: sha }, steps: [] });
  const up = await call("POST", `/v1/runner/jobs/${plan.jobId}/pipeline`, {
    token: plan.jobToken,
    body: { ...lease(plan), pipeline, ...(detection ? { detection } : {}) },
  });
  expect(up.status, up.text).toBe(204);
  const done = await call("POST", `/v1/runner/jobs/${plan.jobId}/complete`, {
    token: plan.jobToken,
    body: { ...lease(plan), status: "succeeded", exitCode: 0, steps: [] },
  });
  expect(done.status, done.text).toBe(204);
}

/** Runs the build's one steps job to success. */
async function succeedSteps(buildId: string): Promise<void> {
  const job = await claimFor(buildId, "steps");
  const done = await call("POST", `/v1/runner/jobs/${job.jobId}/complete`, {
    token: job.jobToken,
    body: { ...lease(job), status: "succeeded", exitCode: 0, steps: [{ id: "compile", status: "succeeded", exitCode: 0, startedAt: null, finishedAt: null }] },
  });
  expect(done.status, done.text).toBe(204);
}

/** A detection as a runner may upload it: the framework is whatever the runner says. */
const detectionClaiming = (framework: string): Detection => ({
  path: ".",
  name: "app",
  cwd: ".",
  language: "javascript",
  framework,
  packageManager: "npm",
  packageManagerVersion: null,
  lockfile: null,
  runtime: null,
  commands: { install: null, lint: null, test: null, build: null, start: null },
  outputDir: null,
  confidence: 1,
  evidence: [],
  apps: [],
  reason: null,
});

async function metricsText(): Promise<string> {
  return (await SELF.fetch("http://sparki.test/metrics", { headers: { authorization: "Bearer metrics-token-for-tests" } })).text();
}

/** The sum of the lines of /metrics that start with `series` (0 when there is none). */
async function metric(series: string): Promise<number> {
  return (await metricsText())
    .split("\n")
    .filter((line) => line.startsWith(series))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

describe("a build, end to end through the runner protocol", () => {
  it("plans, runs, streams every line once and in order, keeps artifacts, and succeeds", async () => {
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    expect(build).toMatchObject({ status: "queued", number: 1 });

    const viewerRes = await SELF.fetch(`http://sparki.test/v1/builds/${build.id}/logs`, {
      headers: { upgrade: "websocket", authorization: `Bearer ${owner.accessToken}` },
    });
    expect(viewerRes.status).toBe(101);
    const viewer = new Frames<ViewerFrame>(viewerRes.webSocket as WebSocket);

    await runPlan(build.id);
    const job = await claimFor(build.id, "steps");
    expect(job.steps).toEqual([{ id: "compile", name: "compile", command: "echo compiling", timeoutSeconds: 600, env: {} }]);
    expect(job).toMatchObject({ env: { GREETING: "hi" }, artifacts: [{ name: "dist", path: "dist" }] });
    // The runner shares its repository mirror among this project's jobs only (runner/mirror.ts).
    expect(job.checkoutScope).toBe(`project:${project.id}`);

    const log = await openRunnerLog(job);
    await log.until((f) => f.some((x) => x.type === "resume"));
    expect(log.received[0]).toEqual({ type: "resume", seq: 0 });
    const line = (seq: number, text: string) => ({ seq, step: "compile", ts: Date.now(), text });
    log.ws.send(JSON.stringify({ type: "lines", fromSeq: 1, lines: [line(1, "compiling"), line(2, "\u001b[32mok\u001b[0m")] }));
    await log.until((f) => f.some((x) => x.type === "ack" && x.seq === 2));
    // A re-sent frame (as after a reconnect) is harmless: the server keeps each seq once.
    log.ws.send(JSON.stringify({ type: "lines", fromSeq: 2, lines: [line(2, "\u001b[32mok\u001b[0m"), line(3, "done")] }));
    await log.until((f) => f.some((x) => x.type === "ack" && x.seq === 3));

    const step = await call("POST", `/v1/runner/jobs/${job.jobId}/steps/compile`, {
      token: job.jobToken,
      body: { ...lease(job), status: "succeeded", exitCode: 0, startedAt: new Date().toISOString(), finishedAt: new Date().toISOString() },
    });
    expect(step.status, step.text).toBe(204);
    const artifact = await SELF.fetch(`http://sparki.test/v1/runner/jobs/${job.jobId}/artifacts/dist`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${job.jobToken}`,
        "sparki-lease-id": job.leaseId,
        "sparki-fencing-token": String(job.fencingToken),
        "sparki-artifact-kind": "file",
        "content-length": "5",
      },
      body: "hello",
    });
    expect(artifact.status).toBe(201);
    expect(await artifact.json()).toEqual({ name: "dist", size: 5, sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" });
    const done = await call("POST", `/v1/runner/jobs/${job.jobId}/complete`, {
      token: job.jobToken,
      body: {
        ...lease(job),
        status: "succeeded",
        exitCode: 0,
        steps: [{ id: "compile", status: "succeeded", exitCode: 0, startedAt: null, finishedAt: null }],
      },
    });
    expect(done.status, done.text).toBe(204);

    const got = await call("GET", `/v1/builds/${build.id}`, { token: owner.accessToken });
    expect(got.body).toMatchObject({
      status: "succeeded",
      commitSha: sha,
      jobs: [
        { kind: "plan", status: "succeeded" },
        { name: "build", status: "succeeded", exitCode: 0, steps: [{ id: "compile", name: "compile", status: "succeeded" }] },
      ],
    });

    const frames = await viewer.until((f) => f.some((x) => x.type === "status" && x.status === "succeeded"));
    const lines = frames.flatMap((f) => (f.type === "lines" ? f.lines : []));
    expect(lines.map((l) => [l.seq, l.text])).toEqual([
      [1, "compiling"],
      [2, "\u001b[32mok\u001b[0m"],
      [3, "done"],
    ]);

    const text = await SELF.fetch(`http://sparki.test/v1/builds/${build.id}/logs.txt`, { headers: { authorization: `Bearer ${owner.accessToken}` } });
    expect(await text.text()).toBe("compiling\n\u001b[32mok\u001b[0m\ndone\n");
    const artifacts = await call("GET", `/v1/builds/${build.id}/artifacts`, { token: owner.accessToken });
    expect(artifacts.body.items.map((a: { name: string; size: number }) => [a.name, a.size])).toEqual([["dist", 5]]);
    const download = await SELF.fetch(`http://sparki.test/v1/builds/${build.id}/artifacts/dist`, { headers: { authorization: `Bearer ${owner.accessToken}` } });
    expect(await download.text()).toBe("hello");

    // Postgres learns the end from the coordinator's outbox, after the runner was answered (sync.ts).
    const listed = await until("the build list to show the build succeeded", async () => {
      const list = await call("GET", `/v1/projects/${project.id}/builds?status=succeeded`, { token: owner.accessToken });
      const ids: string[] = list.body.items.map((b: { id: string }) => b.id);
      return ids.length > 0 && ids;
    });
    expect(listed).toEqual([build.id]);

    const metrics = await (await SELF.fetch("http://sparki.test/metrics", { headers: { authorization: "Bearer metrics-token-for-tests" } })).text();
    // By framework, never by project (one series per project would grow without bound).
    expect(metrics).toMatch(/sparki_build_success_total\{framework="unknown"\} [1-9]/);
    expect(metrics).toMatch(/sparki_build_duration_seconds_count\{framework="unknown"\} [1-9]/);
    expect(metrics).not.toContain(project.id);
  });

  it("counts a build whose pipeline claims a framework Sparki never detects as other, never by that name", async () => {
    const project = await createProject(owner, workspaceId);
    // A runner's plan says what it detected; the project keeps that framework for its next builds.
    const first = await trigger(project.id);
    await runPlan(first.id, detectionClaiming("tenant-made-up-framework"));
    await succeedSteps(first.id);
    const other = 'sparki_build_success_total{framework="other"}';
    const before = await metric(other);
    const second = await trigger(project.id);
    await runPlan(second.id);
    await succeedSteps(second.id);
    expect(await metric(other)).toBe(before + 1);
    expect(await metricsText()).not.toContain("tenant-made-up-framework");
  });

  it("fails the build with the failing step's exit code", async () => {
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    await runPlan(build.id);
    const job = await claimFor(build.id, "steps");
    await call("POST", `/v1/runner/jobs/${job.jobId}/complete`, {
      token: job.jobToken,
      body: { ...lease(job), status: "failed", exitCode: 3, steps: [{ id: "compile", status: "failed", exitCode: 3, startedAt: null, finishedAt: null }] },
    });
    const got = await call("GET", `/v1/builds/${build.id}`, { token: owner.accessToken });
    expect(got.body).toMatchObject({
      status: "failed",
      error: "Job build ended failed with exit code 3.",
      jobs: [{ status: "succeeded" }, { status: "failed", exitCode: 3 }],
    });
  });

  it("retries only the failed jobs, under a new attempt, and a stale runner stays refused", async () => {
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    expectProblem(await call("POST", `/v1/builds/${build.id}/retry`, { token: owner.accessToken }), 409);
    await runPlan(build.id);
    const first = await claimFor(build.id, "steps");
    await call("POST", `/v1/runner/jobs/${first.jobId}/complete`, {
      token: first.jobToken,
      body: { ...lease(first), status: "failed", exitCode: 1, steps: [] },
    });
    const retried = await call("POST", `/v1/builds/${build.id}/retry`, { token: owner.accessToken });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.body).toMatchObject({
      status: "queued",
      jobs: [
        { kind: "plan", status: "succeeded" },
        { status: "queued", attempt: 1 },
      ],
    });
    const second = await claimFor(build.id, "steps");
    expect(second.jobId).toBe(first.jobId);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expectProblem(await call("POST", `/v1/runner/jobs/${first.jobId}/heartbeat`, { token: first.jobToken, body: lease(first) }), 409, "lease_lost");
    // The new attempt's log starts at seq 1 again and is kept beside the first attempt's.
    const log = await openRunnerLog(second);
    await log.until((f) => f.some((x) => x.type === "resume"));
    expect(log.received[0]).toEqual({ type: "resume", seq: 0 });
    await call("POST", `/v1/runner/jobs/${second.jobId}/complete`, {
      token: second.jobToken,
      body: { ...lease(second), status: "succeeded", exitCode: 0, steps: [] },
    });
    const done = await call("GET", `/v1/builds/${build.id}`, { token: owner.accessToken });
    expect(done.body).toMatchObject({ status: "succeeded", jobs: [{ status: "succeeded" }, { status: "succeeded", attempt: 2 }] });
  });

  it("cuts a log at its size limit and says where (1 KiB in the tests)", async () => {
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    const plan = await claimFor(build.id, "plan");
    const log = await openRunnerLog(plan);
    const lines = Array.from({ length: 40 }, (_, i) => ({
      seq: i + 1,
      step: "sparki:plan",
      ts: Date.now(),
      text: `line ${String(i + 1).padStart(2, "0")} ${"x".repeat(40)}`,
    }));
    log.ws.send(JSON.stringify({ type: "lines", fromSeq: 1, lines }));
    // Every line is acknowledged (the runner must not wait forever), even those not kept.
    await log.until((f) => f.some((x) => x.type === "ack" && x.seq === 40));
    // Later frames too, with an ack rather than a resume (which would have the runner resend forever).
    const more = Array.from({ length: 5 }, (_, i) => ({ seq: 41 + i, step: "sparki:plan", ts: Date.now(), text: `line ${41 + i}` }));
    log.ws.send(JSON.stringify({ type: "lines", fromSeq: 41, lines: more }));
    await log.until((f) => f.some((x) => x.type === "ack" && x.seq === 45));
    expect(log.received.filter((x) => x.type === "resume").map((x) => (x.type === "resume" ? x.seq : -1))).toEqual([0]);
    const text = await (
      await SELF.fetch(`http://sparki.test/v1/builds/${build.id}/logs.txt`, { headers: { authorization: `Bearer ${owner.accessToken}` } })
    ).text();
    expect(new TextEncoder().encode(text).length).toBeLessThan(1200);
    expect(text.startsWith("line 01 ")).toBe(true);
    expect(text).not.toContain("line 40");
    expect(text.trimEnd().split("\n").at(-1)).toBe("[sparki] The log reached its 1024 bytes limit here; later lines were not kept.");
    await call("POST", `/v1/builds/${build.id}/cancel`, { token: owner.accessToken });
  });

  it("tells the runner whether anyone watches the log live, as viewers come and go", async () => {
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    const plan = await claimFor(build.id, "plan");
    const log = await openRunnerLog(plan);
    const watches = () => log.received.flatMap((x) => (x.type === "watch" ? [x.watched] : []));
    await log.until(() => watches().length === 1);
    expect(log.received.slice(0, 2)).toEqual([
      { type: "resume", seq: 0 },
      { type: "watch", watched: false },
    ]);
    const open = async () => {
      const res = await SELF.fetch(`http://sparki.test/v1/builds/${build.id}/logs`, {
        headers: { upgrade: "websocket", authorization: `Bearer ${owner.accessToken}` },
      });
      expect(res.status).toBe(101);
      return new Frames<ViewerFrame>(res.webSocket as WebSocket);
    };
    const first = await open();
    await log.until(() => watches().length === 2);
    // A second viewer changes nothing; the runner hears again only when the last one leaves.
    const second = await open();
    first.ws.close(1000, "bye");
    second.ws.close(1000, "bye");
    await log.until(() => watches().length === 3);
    expect(watches()).toEqual([false, true, false]);
    await call("POST", `/v1/builds/${build.id}/cancel`, { token: owner.accessToken });
  });

  it("refuses a log frame that fails its schema and artifact names that escape", async () => {
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    const plan = await claimFor(build.id, "plan");
    const log = await openRunnerLog(plan);
    await log.until((f) => f.some((x) => x.type === "resume"));
    const closed = new Promise<number>((resolve) => log.ws.addEventListener("close", (e) => resolve(e.code)));
    log.ws.send(JSON.stringify({ type: "lines", fromSeq: 1, lines: [{ seq: 2, step: "x", ts: 1, text: "seq does not match fromSeq" }] }));
    await log.until((f) => f.some((x) => x.type === "error"));
    expect(log.received.find((x) => x.type === "error")).toMatchObject({ code: "invalid_frame" });
    expect(await closed).toBe(4400);
    const text = await (
      await SELF.fetch(`http://sparki.test/v1/builds/${build.id}/logs.txt`, { headers: { authorization: `Bearer ${owner.accessToken}` } })
    ).text();
    expect(text).toBe("");
    for (const name of ["..%2Fescape", "a%2F..%2Fb", "%2Fetc%2Fpasswd"]) {
      const res = await SELF.fetch(`http://sparki.test/v1/runner/jobs/${plan.jobId}/artifacts/${name}`, {
        method: "PUT",
        headers: {
          authorization: `Bearer ${plan.jobToken}`,
          "sparki-lease-id": plan.leaseId,
          "sparki-fencing-token": String(plan.fencingToken),
          "sparki-artifact-kind": "file",
          "content-length": "1",
        },
        body: "x",
      });
      expect(res.status, name).toBe(400);
    }
    const listed = await call("GET", `/v1/builds/${build.id}/artifacts`, { token: owner.accessToken });
    expect(listed.body.items).toEqual([]);
    await call("POST", `/v1/builds/${build.id}/cancel`, { token: owner.accessToken });
  });

  it("refuses a stale fencing token and a result for a job the runner does not hold", async () => {
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    const plan = await claimFor(build.id, "plan");
    const stale = await call("POST", `/v1/runner/jobs/${plan.jobId}/heartbeat`, {
      token: plan.jobToken,
      body: { leaseId: plan.leaseId, fencingToken: plan.fencingToken + 1 },
    });
    expectProblem(stale, 409, "lease_lost");
    const wrongLease = await call("POST", `/v1/runner/jobs/${plan.jobId}/complete`, {
      token: plan.jobToken,
      body: { leaseId: "not-mine", fencingToken: plan.fencingToken, status: "succeeded", exitCode: 0, steps: [] },
    });
    expectProblem(wrongLease, 409, "lease_lost");
    // A job token names one job: any other id is refused before any lookup, and the runner token
    // no longer works on a job route at all.
    expectProblem(await call("POST", `/v1/runner/jobs/${build.id}.9/heartbeat`, { token: plan.jobToken, body: lease(plan) }), 401);
    expectProblem(await call("POST", `/v1/runner/jobs/nonsense/heartbeat`, { token: plan.jobToken, body: lease(plan) }), 401);
    expectProblem(await call("POST", `/v1/runner/jobs/${plan.jobId}/heartbeat`, { token: runnerToken, body: lease(plan) }), 401);
    const ok = await call("POST", `/v1/runner/jobs/${plan.jobId}/heartbeat`, { token: plan.jobToken, body: lease(plan) });
    expect(ok.body).toMatchObject({ cancel: false });
    // Nothing changed: the build still waits on its plan.
    expect((await call("GET", `/v1/builds/${build.id}`, { token: owner.accessToken })).body.status).toBe("running");
  });

  it("requeues a job whose runner stops heartbeating, and refuses the old runner afterwards", async () => {
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    const first = await claimFor(build.id, "plan");
    // No heartbeat comes: the clock (the coordinator runs in this isolate) is moved past the
    // lease's end and the coordinator's alarm, which holds the lease's timer, is run now.
    vi.useFakeTimers({ toFake: ["Date"] });
    let second: Job;
    try {
      vi.setSystemTime(Date.parse(first.leaseExpiresAt) + 1);
      // An alarm in flight (the outbox's write to Postgres) holds none until it re-arms.
      await until("the coordinator's alarm to run past the lease", () => runDurableObjectAlarm(buildCoordinator(env, build.id)));
      second = await claimFor(build.id, "plan");
    } finally {
      vi.useRealTimers();
    }
    expect(second.jobId).toBe(first.jobId);
    expect(second.fencingToken).toBe(first.fencingToken + 1);
    expectProblem(
      await call("POST", `/v1/runner/jobs/${first.jobId}/complete`, {
        token: first.jobToken,
        body: { ...lease(first), status: "succeeded", exitCode: 0, steps: [] },
      }),
      409,
      "lease_lost",
    );
    expect((await call("POST", `/v1/runner/jobs/${second.jobId}/heartbeat`, { token: second.jobToken, body: lease(second) })).status).toBe(200);
  });

  it("cancels: queued jobs end, a running job's runner is told", async () => {
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    const plan = await claimFor(build.id, "plan");
    const log = await openRunnerLog(plan);
    const cancelled = await call("POST", `/v1/builds/${build.id}/cancel`, { token: owner.accessToken });
    expect(cancelled.body.status).toBe("cancelled");
    await log.until((f) => f.some((x) => x.type === "cancel"));
    const beat = await call("POST", `/v1/runner/jobs/${plan.jobId}/heartbeat`, { token: plan.jobToken, body: lease(plan) });
    expect(beat.body.cancel).toBe(true);
  });
});

describe("who may see and trigger builds", () => {
  it("hides builds from other workspaces and keeps viewers from triggering", async () => {
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    const outsider = await signup("outsider");
    const viewer = await signup("viewer");
    await addMember(owner, workspaceId, viewer, "viewer");
    for (const path of [`/v1/builds/${build.id}`, `/v1/builds/${build.id}/logs.txt`, `/v1/builds/${build.id}/artifacts`, `/v1/projects/${project.id}/builds`]) {
      expectProblem(await call("GET", path, { token: outsider.accessToken }), 404);
    }
    expectProblem(await call("POST", `/v1/builds/${build.id}/cancel`, { token: outsider.accessToken }), 404);
    expectProblem(await call("POST", `/v1/projects/${project.id}/builds`, { token: outsider.accessToken, body: {} }), 404);
    expectProblem(await call("POST", `/v1/projects/${project.id}/builds`, { token: viewer.accessToken, body: {} }), 403);
    expectProblem(await call("POST", `/v1/builds/${build.id}/cancel`, { token: viewer.accessToken }), 403);
    expect((await call("GET", `/v1/builds/${build.id}`, { token: viewer.accessToken })).status).toBe(200);
    await call("POST", `/v1/builds/${build.id}/cancel`, { token: owner.accessToken });
  });

  it("refuses runner calls without a runner token and registration with a bad token", async () => {
    expectProblem(await call("POST", "/v1/runner/claim", { token: owner.accessToken, body: { capacity: 1 } }), 401);
    expectProblem(await call("POST", "/v1/runner/register", { body: { token: "srg_nope", name: "x", labels: [], version: "1" } }), 401);
  });
});

describe("artifact downloads in production", () => {
  it("redirect to a presigned R2 URL when S3 credentials are configured", async () => {
    const { env } = await import("cloudflare:test");
    const worker = (await import("../index.js")).default;
    // A real build is needed for the permission check: make one, then put its artifact.
    const project = await createProject(owner, workspaceId);
    const build = await trigger(project.id);
    await env.ARTIFACTS.put(`projects/${project.id}/builds/${build.id}/artifacts/dist`, "bytes", { customMetadata: { kind: "directory" } });
    const s3 = { ...env, R2_S3_ENDPOINT: "https://account.r2.cloudflarestorage.com", R2_ACCESS_KEY_ID: "key-id", R2_SECRET_ACCESS_KEY: "secret" };
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(
      new Request(`http://sparki.test/v1/builds/${build.id}/artifacts/dist`, { headers: { authorization: `Bearer ${owner.accessToken}` } }),
      s3,
      ctx,
    );
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(
      `https://account.r2.cloudflarestorage.com/sparki-artifacts/projects/${project.id}/builds/${build.id}/artifacts/dist`,
    );
    expect(location.searchParams.get("X-Amz-Expires")).toBe("300");
    expect(location.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(location.searchParams.get("response-content-disposition")).toBe('attachment; filename="dist.tar.gz"');
    await call("POST", `/v1/builds/${build.id}/cancel`, { token: owner.accessToken });
  });
});
