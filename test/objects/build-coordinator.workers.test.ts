/**
 * The build coordinator's leases, driven inside workerd with no HTTP in between: its RPC methods
 * through the typed stub (server/objects/clients.ts), its alarm run with runDurableObjectAlarm,
 * and its clock moved with a fake Date (the object runs in this test's isolate) instead of
 * waiting for a lease to run out. The API only makes the build the coordinator starts with.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Job } from "../../core/contracts/runner.ts";
import { buildCoordinator } from "../../server/objects/clients.ts";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import { until } from "../until.ts";

let owner: TestUser;
let projectId: string;
beforeAll(async () => {
  owner = await signup("leases");
  projectId = (await createProject(owner, (await createWorkspace(owner)).id)).id;
});

afterEach(() => void vi.useRealTimers());

/** A new build's coordinator and its plan job (queued, offered to the shared pool). */
async function newBuild() {
  const res = await call("POST", `/v1/projects/${projectId}/builds`, { token: owner.accessToken, body: { branch: "main", commitSha: "b".repeat(40) } });
  expect(res.status, res.text).toBe(201);
  const coordinator = buildCoordinator(env, res.body.id as string);
  const plan = (await coordinator.view())?.jobs.find((j) => j.kind === "plan");
  if (!plan) throw new Error("the build has no plan job");
  return { coordinator, jobId: plan.id };
}

type Claimed = Omit<Job, "jobToken">;
const holder = (job: Claimed, runnerId: string) => ({ leaseId: job.leaseId, fencingToken: job.fencingToken, runnerId });

/** Sets the clock to `at` and runs the coordinator's alarm (one in flight holds none until it re-arms). */
async function alarmAt(coordinator: ReturnType<typeof buildCoordinator>, at: number): Promise<void> {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
  await until("the coordinator's alarm to run", () => runDurableObjectAlarm(coordinator));
}

describe("a build coordinator's leases", () => {
  it("keep a job until the lease's end, then requeue it for the next claim under a new fencing token", async () => {
    const { coordinator, jobId } = await newBuild();
    const a = crypto.randomUUID();
    const first = await coordinator.claimJob(jobId, { runnerId: a, workspaceId: null });
    if (!first) throw new Error("the claim lost");
    const end = Date.parse(first.leaseExpiresAt);

    await alarmAt(coordinator, end - 1);
    expect(await coordinator.checkLease(jobId, holder(first, a))).toEqual({ projectId, workspaceId: expect.any(String), needs: [] });
    expect(await coordinator.claimJob(jobId, { runnerId: crypto.randomUUID(), workspaceId: null })).toBeNull();

    await alarmAt(coordinator, end);
    expect(await coordinator.checkLease(jobId, holder(first, a))).toMatchObject({ refused: "lease_lost" });
    const b = crypto.randomUUID();
    const second = await coordinator.claimJob(jobId, { runnerId: b, workspaceId: null });
    expect(second).toMatchObject({ jobId, fencingToken: first.fencingToken + 1 });
    expect(await coordinator.heartbeat(jobId, holder(first, a))).toMatchObject({ refused: "lease_lost" });
    await coordinator.cancel();
  });

  it("move the lease's end with each heartbeat: the alarm at the old end keeps the job", async () => {
    const { coordinator, jobId } = await newBuild();
    const a = crypto.randomUUID();
    const job = await coordinator.claimJob(jobId, { runnerId: a, workspaceId: null });
    if (!job) throw new Error("the claim lost");
    const firstEnd = Date.parse(job.leaseExpiresAt);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(firstEnd - 1000);
    const beat = await coordinator.heartbeat(jobId, holder(job, a));
    if ("refused" in beat) throw new Error(`the heartbeat was refused: ${beat.detail}`);
    const renewedEnd = Date.parse(beat.leaseExpiresAt);
    expect(renewedEnd).toBe(firstEnd - 1000 + Number(env.RUNNER_LEASE_SECONDS) * 1000);

    await alarmAt(coordinator, firstEnd + 1);
    expect(await coordinator.checkLease(jobId, holder(job, a))).toEqual({ projectId, workspaceId: expect.any(String), needs: [] });
    await alarmAt(coordinator, renewedEnd);
    expect(await coordinator.checkLease(jobId, holder(job, a))).toMatchObject({ refused: "lease_lost" });
    await coordinator.cancel();
  });
});
