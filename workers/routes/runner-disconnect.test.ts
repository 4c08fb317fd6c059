/**
 * POST /v1/runner/disconnect: a runner that stops claiming ends the long poll the server still
 * holds for it, so the next job goes to a runner that is there instead of waiting for a lease to
 * run out (found on the local stack: a stopped runner's last poll took the next build's plan job,
 * which started 60 s later), and it no longer counts as online for a waiting job's reason.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runnerDispatcher } from "../../server/objects/clients.ts";
import { workspacePool } from "../../server/objects/runner-dispatcher/protocol.ts";
import { until } from "../../test/until.ts";
import { call, createProject, createWorkspace, signup } from "../testing/api.js";
import { claim, registerWorkspaceRunner } from "../testing/runner.js";

describe("a runner disconnecting", () => {
  it("ends its own waiting claim only, stops counting as online, and the next job waits for a runner still there", async () => {
    const owner = await signup("disconnect");
    const ws = (await createWorkspace(owner)).id;
    expect((await call("PATCH", `/v1/workspaces/${ws}`, { token: owner.accessToken, body: { sharedRunners: "never" } })).status).toBe(200);
    const pool = runnerDispatcher(env, workspacePool(ws));
    const leaving = await registerWorkspaceRunner(owner.accessToken, ws);
    const staying = await registerWorkspaceRunner(owner.accessToken, ws);

    const leavingPoll = call("POST", "/v1/runner/claim", { token: leaving.runnerToken, body: { capacity: 1 } });
    await until("the leaving runner's claim to wait", async () => (await pool.stats()).waiting === 1 || undefined);
    // Another runner's disconnect is its own: the waiting claim stays.
    expect((await call("POST", "/v1/runner/disconnect", { token: staying.runnerToken })).status).toBe(204);
    expect((await pool.stats()).waiting).toBe(1);
    expect((await call("POST", "/v1/runner/disconnect", { token: leaving.runnerToken })).status).toBe(204);
    expect((await leavingPoll).status).toBe(204);
    expect((await pool.stats()).waiting).toBe(0);

    // Both left: a build's plan job waits with no runner online, and is offered, not handed to a ghost.
    const project = await createProject(owner, ws);
    const res = await call("POST", `/v1/projects/${project.id}/builds`, { token: owner.accessToken, body: { commitSha: "e".repeat(40) } });
    expect(res.status, res.text).toBe(201);
    const build = (await call("GET", `/v1/builds/${res.body.id}`, { token: owner.accessToken })).body;
    expect(build.jobs).toEqual([expect.objectContaining({ kind: "plan", status: "queued", waiting: { reason: "no runner online" } })]);
    const job = await claim(staying.runnerToken);
    expect(job).toMatchObject({ buildId: res.body.id, kind: "plan" });
  });

  it("needs the runner's own token", async () => {
    expect((await call("POST", "/v1/runner/disconnect", {})).status).toBe(401);
    expect((await call("POST", "/v1/runner/disconnect", { token: "srn_not-a-runner-token" })).status).toBe(401);
  });
});
