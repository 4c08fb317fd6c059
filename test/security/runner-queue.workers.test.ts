/**
 * Attacks on GET /v1/workspaces/:id/runner-queue: another workspace's member, a caller without a
 * session and a runner token get nothing, and the shared pool, which holds every workspace's
 * offers, shows a workspace only its own jobs, never how busy other tenants are.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { runnerDispatcher } from "../../server/objects/clients.ts";
import { sharedPool } from "../../server/objects/runner-dispatcher/protocol.ts";
import { call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../../workers/testing/api.js";
import { registerRunner } from "../../workers/testing/runner.js";

let victim: TestUser;
let attacker: TestUser;
let victimWs: string;
let attackerWs: string;
beforeAll(async () => {
  [victim, attacker] = await Promise.all([signup("queue-victim"), signup("queue-attacker")]);
  victimWs = (await createWorkspace(victim, "Victim")).id;
  attackerWs = (await createWorkspace(attacker, "Attacker")).id;
  // The victim's build waits in its own pool and in the shared one (the default policy, no secrets).
  const project = await createProject(victim, victimWs);
  const res = await call("POST", `/v1/projects/${project.id}/builds`, { token: victim.accessToken, body: { commitSha: "f".repeat(40) } });
  expect(res.status, res.text).toBe(201);
});

const path = (ws: string) => `/v1/workspaces/${ws}/runner-queue`;

describe("the runner queue across tenants", () => {
  it("is a 404 to a member of another workspace, exactly as for a workspace that does not exist", async () => {
    expectProblem(await call("GET", path(victimWs), { token: attacker.accessToken }), 404, "not_found");
    expectProblem(await call("GET", path(crypto.randomUUID()), { token: attacker.accessToken }), 404, "not_found");
  });

  it("needs a user's session: none, or a runner token, is a 401", async () => {
    expectProblem(await call("GET", path(victimWs)), 401);
    expectProblem(await call("GET", path(victimWs), { token: await registerRunner() }), 401);
  });

  it("shows a workspace only its own jobs of the shared pool", async () => {
    // The victim's job is in the shared pool right now …
    expect((await runnerDispatcher(env, sharedPool).waitingJobs(victimWs)).reduce((n, q) => n + q.jobs, 0)).toBe(1);
    const own = await call("GET", path(victimWs), { token: victim.accessToken });
    expect(own.body.pools.shared.waiting).toBe(1);
    // … and the attacker's view of that same pool does not count it.
    const theirs = await call("GET", path(attackerWs), { token: attacker.accessToken });
    expect(theirs.status).toBe(200);
    expect(theirs.body.pools).toEqual({ workspace: { waiting: 0, labelSets: [] }, shared: { waiting: 0, labelSets: [] } });
  });
});
