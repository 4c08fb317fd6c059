import { beforeAll, describe, expect, it } from "vitest";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { createHook, push, shaOf, zeros } from "../testing/push-hook.js";

let owner: TestUser;
let admin: TestUser;
let developer: TestUser;
let viewer: TestUser;
let outsider: TestUser;
let workspaceId: string;

beforeAll(async () => {
  [owner, admin, developer, viewer, outsider] = await Promise.all([signup("hooks"), signup("admin"), signup("dev"), signup("viewer"), signup("outsider")]);
  workspaceId = (await createWorkspace(owner)).id;
  await createWorkspace(outsider, "Elsewhere");
  await addMember(owner, workspaceId, admin, "admin");
  await addMember(owner, workspaceId, developer, "developer");
  await addMember(owner, workspaceId, viewer, "viewer");
});

const builds = async (projectId: string) =>
  (await call("GET", `/v1/projects/${projectId}/builds`, { token: owner.accessToken })).body.items as {
    id: string;
    branch: string;
    tag: string | null;
    commitSha: string;
  }[];

describe("managing a project's push hook", () => {
  it("shows the key once, lists the hook without it, and audits the change", async () => {
    const project = await createProject(owner, workspaceId);
    const before = await call("GET", `/v1/projects/${project.id}/hooks`, { token: viewer.accessToken });
    expect(before.status, before.text).toBe(200);
    expect(before.body).toMatchObject({ exists: false, createdAt: null, deliveries: [] });

    const created = await call("POST", `/v1/projects/${project.id}/hooks`, { token: admin.accessToken });
    expect(created.status, created.text).toBe(201);
    expect(created.body.secret).toMatch(/^sph_[A-Za-z0-9_-]{43}$/);
    expect(created.body.url).toBe(`http://sparki.test/v1/projects/${project.id}/hooks/push`);

    const listed = await call("GET", `/v1/projects/${project.id}/hooks`, { token: viewer.accessToken });
    expect(listed.body).toMatchObject({ exists: true, url: created.body.url });
    expect(listed.text).not.toContain(created.body.secret);

    const audit = await call("GET", `/v1/workspaces/${workspaceId}/audit-logs`, { token: owner.accessToken });
    expect(audit.body.items.some((e: any) => e.action === "push_hook.create" && e.resourceId === project.id)).toBe(true);
  });

  it("takes an owner or admin to create, rotate or remove it", async () => {
    const project = await createProject(owner, workspaceId);
    for (const user of [developer, viewer]) {
      expectProblem(await call("POST", `/v1/projects/${project.id}/hooks`, { token: user.accessToken }), 403, "forbidden");
      expectProblem(await call("DELETE", `/v1/projects/${project.id}/hooks`, { token: user.accessToken }), 403, "forbidden");
    }
    await createHook(owner, project.id);
    expect((await call("DELETE", `/v1/projects/${project.id}/hooks`, { token: admin.accessToken })).status).toBe(204);
    expectProblem(await call("DELETE", `/v1/projects/${project.id}/hooks`, { token: admin.accessToken }), 404, "not_found");
  });

  it("takes an admin-scope token: a write token cannot make a key", async () => {
    const project = await createProject(owner, workspaceId);
    const token = await call("POST", "/v1/tokens", { token: owner.accessToken, body: { name: "ci", scope: "write" } });
    expect(token.status, token.text).toBe(201);
    expectProblem(await call("POST", `/v1/projects/${project.id}/hooks`, { token: token.body.token }), 403, "forbidden");
  });

  it("documents the routes in the OpenAPI document, the push one without bearer auth", async () => {
    const doc = (await call("GET", "/v1/openapi.json")).body;
    expect(Object.keys(doc.paths["/v1/projects/{id}/hooks"]).sort()).toEqual(["delete", "get", "post"]);
    const pushOp = doc.paths["/v1/projects/{id}/hooks/push"].post;
    expect(pushOp.security).toBeUndefined();
    expect(pushOp.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(["x-sparki-signature-256", "x-sparki-delivery"]));
  });

  it("is invisible to another workspace's members: 404 for create, list and delete, nothing changed", async () => {
    const project = await createProject(owner, workspaceId);
    const { secret } = await createHook(owner, project.id);
    for (const method of ["POST", "GET", "DELETE"]) {
      expectProblem(await call(method, `/v1/projects/${project.id}/hooks`, { token: outsider.accessToken }), 404, "not_found");
    }
    expect((await push(project.id, secret)).status).toBe(202);
  });

  it("rotating refuses the old key at once; removing refuses every call", async () => {
    const project = await createProject(owner, workspaceId);
    const first = await createHook(owner, project.id);
    const second = await createHook(admin, project.id);
    expect(second.secret).not.toBe(first.secret);
    expectProblem(await push(project.id, first.secret), 401, "unauthenticated");
    expect((await push(project.id, second.secret)).status).toBe(202);
    expect((await call("DELETE", `/v1/projects/${project.id}/hooks`, { token: owner.accessToken })).status).toBe(204);
    expectProblem(await push(project.id, second.secret), 401, "unauthenticated");
  });
});

describe("a git server's push", () => {
  it("builds the pushed commit on its branch, once per delivery id, and lists the delivery", async () => {
    const project = await createProject(owner, workspaceId);
    const { secret } = await createHook(owner, project.id);
    const delivery = crypto.randomUUID();
    const first = await push(project.id, secret, { ref: "refs/heads/feature/login", after: shaOf("b"), delivery });
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({ delivery, outcome: "started", duplicate: false, buildId: expect.any(String) });

    const build = await call("GET", `/v1/builds/${first.body.buildId}`, { token: owner.accessToken });
    expect(build.body).toMatchObject({ projectId: project.id, branch: "feature/login", commitSha: shaOf("b") });

    const again = await push(project.id, secret, { ref: "refs/heads/feature/login", after: shaOf("b"), delivery });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ delivery, outcome: "started", duplicate: true, buildId: first.body.buildId });
    expect(await builds(project.id)).toHaveLength(1);

    const hook = await call("GET", `/v1/projects/${project.id}/hooks`, { token: owner.accessToken });
    expect(hook.body.deliveries).toEqual([expect.objectContaining({ delivery, event: "push", outcome: "started", buildId: first.body.buildId })]);
  });

  it("starts nothing for a deleted branch, and says so", async () => {
    const project = await createProject(owner, workspaceId);
    const { secret } = await createHook(owner, project.id);
    const res = await push(project.id, secret, { before: shaOf("c"), after: zeros });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ outcome: "ignored", buildId: null, detail: expect.stringContaining("deleted") });
    expect(await builds(project.id)).toHaveLength(0);
  });

  it("builds a pushed tag's commit as a tag build; a deleted tag starts nothing", async () => {
    const project = await createProject(owner, workspaceId);
    const { secret } = await createHook(owner, project.id);
    const res = await push(project.id, secret, { ref: "refs/tags/v1.0.0", after: shaOf("d") });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ outcome: "started", duplicate: false });
    expect(await builds(project.id)).toEqual([expect.objectContaining({ id: res.body.buildId, branch: "", tag: "v1.0.0", commitSha: shaOf("d") })]);
    const deleted = await push(project.id, secret, { ref: "refs/tags/v1.0.0", before: shaOf("d"), after: zeros });
    expect(deleted.body).toMatchObject({ outcome: "ignored", buildId: null, detail: expect.stringContaining("deleted") });
    expect(await builds(project.id)).toHaveLength(1);
  });

  it("honours sparki.yml pipeline.tags", async () => {
    const project = await createProject(owner, workspaceId);
    const { secret } = await createHook(owner, project.id);
    const saved = await call("PUT", `/v1/projects/${project.id}/pipeline`, {
      token: owner.accessToken,
      rawBody: 'pipeline:\n  tags: ["v*"]\n',
      headers: { "content-type": "text/yaml" },
    });
    expect(saved.status, saved.text).toBe(201);
    const nightly = await push(project.id, secret, { ref: "refs/tags/nightly" });
    expect(nightly.body).toMatchObject({ outcome: "ignored", detail: "tag nightly is not among sparki.yml pipeline.tags" });
    const release = await push(project.id, secret, { ref: "refs/tags/v2.0.0" });
    expect(release.body).toMatchObject({ outcome: "started" });
    expect((await builds(project.id)).map((b) => b.tag)).toEqual(["v2.0.0"]);
  });

  it("honours sparki.yml pipeline.branches", async () => {
    const project = await createProject(owner, workspaceId);
    const { secret } = await createHook(owner, project.id);
    const yml = 'pipeline:\n  branches: [main, "release/*"]\n';
    const saved = await call("PUT", `/v1/projects/${project.id}/pipeline`, {
      token: owner.accessToken,
      rawBody: yml,
      headers: { "content-type": "text/yaml" },
    });
    expect(saved.status, saved.text).toBe(201);

    const feature = await push(project.id, secret, { ref: "refs/heads/feature/x" });
    expect(feature.body).toMatchObject({ outcome: "ignored", buildId: null, detail: expect.stringContaining("pipeline.branches") });
    expect((await push(project.id, secret, { ref: "refs/heads/release/2.0" })).body.outcome).toBe("started");
    expect((await push(project.id, secret, { ref: "refs/heads/main" })).body.outcome).toBe("started");
    expect((await builds(project.id)).map((b) => b.branch).sort()).toEqual(["main", "release/2.0"]);
  });
});
