/**
 * The runner pools on /metrics (the alerts in ops/prometheus/alerts.yml read them):
 * sparki_runners_online for each label set jobs wait for, absent when no runner online fits it,
 * sparki_pool_runners_online for every runner of a pool, and sparki_queue_wait_seconds for each
 * job a pool hands out. Policy `never` keeps these workspaces' builds out of the shared pool, so
 * only their own runners move the numbers.
 */
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { runnerDispatcher } from "../../server/objects/clients.ts";
import { workspacePool } from "../../server/objects/runner-dispatcher/protocol.ts";
import { call, createProject, createWorkspace, signup, type TestUser } from "../testing/api.js";
import { claimFor, registerWorkspaceRunner } from "../testing/runner.js";

let owner: TestUser;
let workspaceId: string;
beforeAll(async () => {
  owner = await signup("pool-metrics");
  workspaceId = await ownPoolWorkspace();
});

/** A workspace whose builds go to its own pool only. */
async function ownPoolWorkspace(): Promise<string> {
  const id = (await createWorkspace(owner)).id;
  expect((await call("PATCH", `/v1/workspaces/${id}`, { token: owner.accessToken, body: { sharedRunners: "never" } })).status).toBe(200);
  return id;
}

async function trigger(projectId: string): Promise<string> {
  const res = await call("POST", `/v1/projects/${projectId}/builds`, { token: owner.accessToken, body: { branch: "main", commitSha: "f".repeat(40) } });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

/** A workspace pool's lines of /metrics after its dispatcher's alarm pushed them (run now rather than in a second). */
async function poolMetrics(workspace = workspaceId): Promise<string[]> {
  await runDurableObjectAlarm(runnerDispatcher(env, workspacePool(workspace)));
  const text = await (await SELF.fetch("http://sparki.test/metrics", { headers: { authorization: "Bearer metrics-token-for-tests" } })).text();
  return text.split("\n").filter((l) => l.includes(`pool="workspace:${workspace}"`));
}

/**
 * Whether the pool will push its gauges within a second (gaugeDelayMs), not at its next
 * scheduled refresh: runDurableObjectAlarm runs an alarm whenever it is due, so this is what
 * tells a change that arms the push from one that waits for the refresh.
 */
async function pushesSoon(workspace: string): Promise<boolean> {
  const alarm = await runInDurableObject(runnerDispatcher(env, workspacePool(workspace)), (_, state) => state.storage.getAlarm());
  return alarm !== null && alarm <= Date.now() + 1000;
}

describe("runner pool metrics", () => {
  it("says when jobs wait with no runner online to take them, and how long jobs waited", async () => {
    const project = await createProject(owner, workspaceId);
    const first = await trigger(project.id);
    await trigger(project.id);
    const pool = `pool="workspace:${workspaceId}"`;

    // Two plan jobs wait, and no runner of the pool was ever seen: no runners_online series.
    const before = await poolMetrics();
    expect(before).toContain(`sparki_jobs_waiting{labels="",${pool}} 2`);
    expect(before.filter((l) => l.startsWith("sparki_runners_online"))).toEqual([]);
    expect(before.filter((l) => l.startsWith("sparki_queue_wait_seconds"))).toEqual([]);

    // A runner takes one: it is online for the job still waiting, and one wait was measured.
    const runner = await registerWorkspaceRunner(owner.accessToken, workspaceId, ["linux"]);
    await claimFor(runner.runnerToken, first, "plan");
    const after = await poolMetrics();
    expect(after).toContain(`sparki_jobs_waiting{labels="",${pool}} 1`);
    expect(after).toContain(`sparki_runners_online{labels="",${pool}} 1`);
    expect(after).toContain(`sparki_queue_wait_seconds_count{${pool}} 1`);
    expect(after).toContain(`sparki_queue_wait_seconds_bucket{le="+Inf",${pool}} 1`);
  });

  it("counts a pool's runners online whether or not jobs wait: up as runners poll, down as they disconnect", async () => {
    const workspace = await ownPoolWorkspace();
    const project = await createProject(owner, workspace);
    const firstBuild = await trigger(project.id);
    const secondBuild = await trigger(project.id);
    const series = (lines: string[]) => lines.filter((l) => l.startsWith("sparki_pool_runners_online"));
    const line = (n: number) => [`sparki_pool_runners_online{pool="workspace:${workspace}"} ${n}`];
    expect(series(await poolMetrics(workspace))).toEqual([]);

    // Each runner's poll finds a job at once (no long poll to wait out); then none waits.
    const linux = await registerWorkspaceRunner(owner.accessToken, workspace, ["linux"]);
    const gpu = await registerWorkspaceRunner(owner.accessToken, workspace, ["gpu"]);
    await claimFor(linux.runnerToken, firstBuild, "plan");
    expect(await pushesSoon(workspace)).toBe(true);
    expect(series(await poolMetrics(workspace))).toEqual(line(1));
    await claimFor(gpu.runnerToken, secondBuild, "plan");
    expect(await pushesSoon(workspace)).toBe(true);
    const both = await poolMetrics(workspace);
    expect(series(both)).toEqual(line(2));
    // The per-label-set gauge has nothing to say with no job waiting; this one still counts both.
    expect(both.filter((l) => l.startsWith("sparki_jobs_waiting") || l.startsWith("sparki_runners_online{"))).toEqual([]);

    const disconnect = (runnerToken: string) => call("POST", "/v1/runner/disconnect", { token: runnerToken });
    expect((await disconnect(linux.runnerToken)).status).toBe(204);
    expect(await pushesSoon(workspace)).toBe(true);
    expect(series(await poolMetrics(workspace))).toEqual(line(1));
    // The last one gone: the pool remembers no runner, so it has no series rather than a 0 kept forever.
    expect((await disconnect(gpu.runnerToken)).status).toBe(204);
    expect(series(await poolMetrics(workspace))).toEqual([]);
  });
});
