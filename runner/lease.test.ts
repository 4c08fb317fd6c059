import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClaimRefusedError } from "./claim.ts";
import { ControlPlaneClient, HttpError } from "./client.ts";
import { Agent } from "./agent.ts";
import { FakeControlPlane } from "./testing/fake-control-plane.ts";
import { createRepo, jobSpec, startAgent, type TestAgent } from "./testing/harness.ts";

let fake: FakeControlPlane;
let repo: Awaited<ReturnType<typeof createRepo>>;
let agent: TestAgent | null = null;

beforeEach(async () => {
  fake = await FakeControlPlane.start({ leaseMs: 3000 });
  repo = await createRepo([{ "README.md": "lease\n" }]);
});

afterEach(async () => {
  await agent?.stop();
  agent = null;
  await fake.close();
  await repo.cleanup();
});

describe("leases and fencing", () => {
  it("a runner whose lease expired is refused, stops, and the requeued job finishes under a new token", async () => {
    const marks = await mkdtemp(join(tmpdir(), "sparki-mark-"));
    // The first attempt hangs; the second (after the requeue) finishes at once.
    const command = `if [ -f "${marks}/seen" ]; then echo second attempt; else touch "${marks}/seen"; echo first attempt; sleep 30; fi`;
    const id = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "work", command }]));
    agent = await startAgent(fake);
    const first = await fake.waitFor(id, (j) => j.log.some((l) => l.text === "first attempt"));
    const oldLease = { leaseId: first.state.leaseId as string, fencingToken: first.state.fencingToken };
    fake.expireLease(id);

    const job = await fake.waitFor(id, (j) => j.result !== null, 15_000);
    expect(job.result).toMatchObject({ status: "succeeded", fencingToken: 2 });
    expect(job.state.attempt).toBe(2);
    expect(job.refusals.some((r) => r.status === 409)).toBe(true);
    expect(agent.said.some((l) => l.includes(`job ${id}: stopping (lease_lost)`))).toBe(true);
    expect(agent.said.some((l) => l.includes("lease lost, result dropped"))).toBe(true);

    // A late result from the first holder changes nothing: old lease, or old token under the new lease.
    const [firstToken] = [...fake.jobTokens].find(([, t]) => t.jobId === id && t.fencingToken === 1) ?? [];
    const client = new ControlPlaneClient(fake.url, firstToken ?? "");
    const late = { status: "failed" as const, exitCode: 1, steps: [] };
    await expect(client.complete(id, { ...oldLease, ...late })).rejects.toMatchObject({ status: 409 });
    await expect(client.heartbeat(id, { leaseId: job.state.leaseId ?? "", fencingToken: oldLease.fencingToken })).rejects.toBeInstanceOf(HttpError);
    expect(fake.job(id).result?.status).toBe("succeeded");
    await rm(marks, { recursive: true, force: true });
  });

  it("refuses a stale fencing token on every job route with 409", async () => {
    const id = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "s", command: "true" }]));
    const registered = await new ControlPlaneClient(fake.url).register({ token: fake.registrationToken, name: "manual", labels: [], version: "test" });
    const runner = new ControlPlaneClient(fake.url, registered.runnerToken);
    const job = await runner.claim({ capacity: 1 }, AbortSignal.timeout(5000));
    if (!job) throw new Error("expected a job");
    const client = runner.forJob(job);
    const stale = { leaseId: job.leaseId, fencingToken: job.fencingToken + 7 };
    await expect(client.heartbeat(id, stale)).rejects.toMatchObject({ status: 409 });
    await expect(client.updateStep(id, "s", { ...stale, status: "running", exitCode: null, startedAt: null, finishedAt: null })).rejects.toMatchObject({
      status: 409,
    });
    await expect(client.complete(id, { ...stale, status: "succeeded", exitCode: 0, steps: [] })).rejects.toMatchObject({ status: 409 });
    await expect(client.release(id, { ...stale, reason: "shutdown" })).rejects.toMatchObject({ status: 409 });
    expect(fake.job(id).refusals.map((r) => r.route)).toEqual(["heartbeat", "steps", "complete", "release"]);
    expect(fake.job(id).state.status).toBe("claimed");
    await client.complete(id, { leaseId: job.leaseId, fencingToken: job.fencingToken, status: "succeeded", exitCode: 0, steps: [] });
    expect(fake.job(id).state.status).toBe("succeeded");
  });
});

describe("job tokens", () => {
  async function claimOne(labels: string[] = []) {
    const registered = await new ControlPlaneClient(fake.url).register({ token: fake.registrationToken, name: "manual", labels, version: "test" });
    const runner = new ControlPlaneClient(fake.url, registered.runnerToken);
    const job = await runner.claim({ capacity: 1 }, AbortSignal.timeout(5000));
    return { runner, job, runnerId: registered.runnerId };
  }

  it("job routes take only that job's token: the runner token and another job's token are 401, a job token cannot claim", async () => {
    const spec = jobSpec(repo.dir, repo.shas[0] as string, [{ id: "s", command: "true" }]);
    const a = fake.enqueue(spec);
    const b = fake.enqueue(spec);
    const first = await claimOne();
    const second = await claimOne();
    if (!first.job || !second.job) throw new Error("expected two jobs");
    const lease = { leaseId: first.job.leaseId, fencingToken: first.job.fencingToken };
    await expect(first.runner.heartbeat(first.job.jobId, lease)).rejects.toMatchObject({ status: 401 });
    await expect(second.runner.forJob(second.job).heartbeat(first.job.jobId, lease)).rejects.toMatchObject({ status: 401 });
    await expect(first.runner.forJob(first.job).claim({ capacity: 1 }, AbortSignal.timeout(5000))).rejects.toMatchObject({ status: 401 });
    expect((await first.runner.forJob(first.job).heartbeat(first.job.jobId, lease)).cancel).toBe(false);
    expect([a, b]).toContain(first.job.jobId);
  });

  it("a job whose runner is revoked stops at once: its job token is refused", async () => {
    const id = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "s", command: "echo started; sleep 30" }]));
    agent = await startAgent(fake);
    const job = await fake.waitFor(id, (j) => j.log.some((l) => l.text === "started"));
    fake.revokeRunner(job.state.runnerId ?? "");
    await fake.waitFor(id, () => agent?.said.some((l) => l.includes(`job ${id}: stopping (lease_lost)`)) === true, 15_000);
    expect(fake.job(id).result).toBeNull();
    // Its runner token is refused too, so the agent stops for good.
    await expect(agent.done).rejects.toBeInstanceOf(ClaimRefusedError);
  });

  it("claims match the labels the runner registered with, whatever the request says", async () => {
    const gpu = fake.enqueue({ ...jobSpec(repo.dir, repo.shas[0] as string, [{ id: "s", command: "true" }]), runsOn: ["gpu"] });
    const { job } = await claimOne(["linux"]);
    expect(job).toBeNull();
    const { job: taken } = await claimOne(["linux", "gpu"]);
    expect(taken?.jobId).toBe(gpu);
  });
});

describe("claiming", () => {
  it("backs off through 503s and then runs the job", async () => {
    fake.failClaims = { status: 503, remaining: 3 };
    const id = fake.enqueue(jobSpec(repo.dir, repo.shas[0] as string, [{ id: "s", command: "echo ok" }]));
    agent = await startAgent(fake);
    const job = await fake.waitFor(id, (j) => j.result !== null);
    expect(job.result?.status).toBe("succeeded");
    expect(agent.said.filter((l) => l.startsWith("claim failed (HTTP 503")).length).toBe(3);
    expect(agent.said).toContain("control plane reachable again");
  });

  it("runs up to --concurrency jobs at once", async () => {
    const spec = jobSpec(repo.dir, repo.shas[0] as string, [{ id: "s", command: "sleep 1.5" }]);
    const ids = [fake.enqueue(spec), fake.enqueue(spec)];
    agent = await startAgent(fake, { concurrency: 2 });
    await Promise.all(ids.map((id) => fake.waitFor(id, (j) => j.state.status === "claimed" || j.state.status === "running")));
    // Both held at the same moment: neither waited for the other to finish.
    expect(ids.map((id) => fake.job(id).result)).toEqual([null, null]);
    await Promise.all(ids.map((id) => fake.waitFor(id, (j) => j.result?.status === "succeeded")));
  });

  it("stops for good on a 4xx such as a revoked token", async () => {
    const workDir = await mkdtemp(join(tmpdir(), "sparki-work-"));
    const bad = new Agent({ client: new ControlPlaneClient(fake.url, "revoked"), labels: [], concurrency: 1, workDir, graceMs: 1000, say: () => undefined });
    await expect(bad.run()).rejects.toBeInstanceOf(ClaimRefusedError);
    expect(fake.claimCount).toBe(0);
    await rm(workDir, { recursive: true, force: true });
  });
});
