import { beforeAll, describe, expect, it } from "vitest";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { claimFor, openRunnerLog, registerWorkspaceRunner } from "../testing/runner.js";

let owner: TestUser;
let workspaceId: string;
beforeAll(async () => {
  owner = await signup("secrets");
  workspaceId = (await createWorkspace(owner)).id;
});

describe("project secrets", () => {
  it("stores values it never shows again", async () => {
    const project = await createProject(owner, workspaceId);
    const put = await call("PUT", `/v1/projects/${project.id}/secrets/DEPLOY_TOKEN`, { token: owner.accessToken, body: { value: "tok-123456" } });
    expect(put.status, put.text).toBe(201);
    expect(put.text).not.toContain("tok-123456");
    expect((await call("PUT", `/v1/projects/${project.id}/secrets/DEPLOY_TOKEN`, { token: owner.accessToken, body: { value: "tok-654321" } })).status).toBe(
      200,
    );
    const list = await call("GET", `/v1/projects/${project.id}/secrets`, { token: owner.accessToken });
    expect(list.body.items.map((s: { name: string }) => s.name)).toEqual(["DEPLOY_TOKEN"]);
    expect(list.text).not.toMatch(/tok-/);
    expect((await call("DELETE", `/v1/projects/${project.id}/secrets/DEPLOY_TOKEN`, { token: owner.accessToken })).status).toBe(204);
    expectProblem(await call("DELETE", `/v1/projects/${project.id}/secrets/DEPLOY_TOKEN`, { token: owner.accessToken }), 404);
  });

  it("refuses bad names, short values and unknown fields", async () => {
    const project = await createProject(owner, workspaceId);
    expectProblem(await call("PUT", `/v1/projects/${project.id}/secrets/not-a-name`, { token: owner.accessToken, body: { value: "long enough" } }), 400);
    const short = await call("PUT", `/v1/projects/${project.id}/secrets/SHORT`, { token: owner.accessToken, body: { value: "abc" } });
    expectProblem(short, 400, "validation");
    expect(short.body.errors[0].message).toMatch(/masked/);
    expect(short.body.detail).toMatch(/at least 4 characters/);
    expectProblem(await call("PUT", `/v1/projects/${project.id}/secrets/X`, { token: owner.accessToken, body: { value: "long enough", extra: 1 } }), 400);
  });

  it("keeps other workspaces out and viewers read-only", async () => {
    const project = await createProject(owner, workspaceId);
    await call("PUT", `/v1/projects/${project.id}/secrets/API_KEY`, { token: owner.accessToken, body: { value: "key-value-1" } });
    const outsider = await signup("outsider");
    const viewer = await signup("viewer");
    await addMember(owner, workspaceId, viewer, "viewer");
    expectProblem(await call("GET", `/v1/projects/${project.id}/secrets`, { token: outsider.accessToken }), 404);
    expectProblem(await call("PUT", `/v1/projects/${project.id}/secrets/API_KEY`, { token: outsider.accessToken, body: { value: "stolen!!" } }), 404);
    expectProblem(await call("DELETE", `/v1/projects/${project.id}/secrets/API_KEY`, { token: outsider.accessToken }), 404);
    expectProblem(await call("PUT", `/v1/projects/${project.id}/secrets/API_KEY`, { token: viewer.accessToken, body: { value: "changed!" } }), 403);
    expect((await call("GET", `/v1/projects/${project.id}/secrets`, { token: viewer.accessToken })).body.items).toHaveLength(1);
  });

  it("hands values only to the runner holding the job, and masks them in the log", async () => {
    const project = await createProject(owner, workspaceId);
    await call("PUT", `/v1/projects/${project.id}/secrets/API_KEY`, { token: owner.accessToken, body: { value: "very-secret-value" } });
    const build = await call("POST", `/v1/projects/${project.id}/builds`, { token: owner.accessToken, body: { commitSha: "b".repeat(40) } });
    // The workspace's own runner: by default the shared pool never gets a build whose project has secrets.
    const { runnerToken } = await registerWorkspaceRunner(owner.accessToken, workspaceId);
    const job = await claimFor(runnerToken, build.body.id, "plan");
    expect(job.secrets).toEqual([{ name: "API_KEY", value: "very-secret-value" }]);
    // A runner that failed to mask: the coordinator masks again before storing.
    const log = await openRunnerLog(job);
    const encoded = btoa("auth: very-secret-value\n");
    const lines = [
      { seq: 1, step: "sparki:plan", ts: Date.now(), text: "token=very-secret-value!" },
      { seq: 2, step: "sparki:plan", ts: Date.now(), text: `b64=${encoded}` },
    ];
    log.ws.send(JSON.stringify({ type: "lines", fromSeq: 1, lines }));
    await log.until((f) => f.some((x) => x.type === "ack" && x.seq === 2));
    const res = await call("GET", `/v1/builds/${build.body.id}/logs.txt`, { token: owner.accessToken });
    expect(res.text.split("\n")[0]).toBe("token=***!");
    // Only the characters the secret alone decides are masked; the rest of the base64 stays.
    expect(res.text).toMatch(/^b64=\S*\*\*\*\S*$/m);
    expect(res.text).not.toContain(encoded.slice(8, 28));
    await call("POST", `/v1/builds/${build.body.id}/cancel`, { token: owner.accessToken });
  });
});
