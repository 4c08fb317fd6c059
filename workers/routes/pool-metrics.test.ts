/**
 * The runner pools on /metrics (the alerts in ops/prometheus/alerts.yml read them):
 * sparki_runners_online for each label set jobs wait for, absent when no runner online fits it,
 * and sparki_queue_wait_seconds for each job a pool hands out. Policy `never` keeps this
 * workspace's builds out of the shared pool, so only its own runners move the numbers.
 */
import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { runnerDispatcher } from "../../server/objects/clients.ts";
import { workspacePool } from "../../server/objects/runner-dispatcher/protocol.ts";
import { call, createProject, createWorkspace, signup, type TestUser } from "../testing/api.js";
import { claimFor, registerWorkspaceRunner } from "../testing/runner.js";

let owner: TestUser;
let workspaceId: string;
beforeAll(async () => {
  owner = await signup("pool-metrics");
  workspaceId = (await createWorkspace(owner)).id;
  expect((await call("PATCH", `/v1/workspaces/${workspaceId}`, { token: owner.accessToken, body: { sharedRunners: "never" } })).status).toBe(200);
});

async function trigger(projectId: string): Promise<string> {
  const res = await call("POST", `/v1/projects/${projectId}/builds`, { token: owner.accessToken, body: { branch: "main", commitSha: "f".repeat(40) } });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

/** This pool's lines of /metrics after its dispatcher's alarm pushed them (run now rather than in a second). */
async function poolMetrics(): Promise<string[]> {
  await runDurableObjectAlarm(runnerDispatcher(env, workspacePool(workspaceId)));
  const text = await (await SELF.fetch("http://sparki.test/metrics", { headers: { authorization: "Bearer metrics-token-for-tests" } })).text();
  return text.split("\n").filter((l) => l.includes(`pool="workspace:${workspaceId}"`));
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
});
