/**
 * Tenant isolation: for every route that names a workspace's resource, a member of another
 * workspace gets 404 (never the data, never a hint it exists), and a viewer cannot write.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";

let owner: TestUser;
let outsider: TestUser;
let viewer: TestUser;
let workspaceId: string;
let projectId: string;

beforeAll(async () => {
  owner = await signup("owner");
  outsider = await signup("outsider");
  viewer = await signup("viewer");
  workspaceId = (await createWorkspace(owner, "Tenant A")).id;
  await createWorkspace(outsider, "Tenant B");
  projectId = (await createProject(owner, workspaceId)).id;
  await addMember(owner, workspaceId, viewer, "viewer");
});

type Case = [method: string, path: () => string, body?: () => unknown];

const workspaceRoutes: Case[] = [
  ["GET", () => `/v1/workspaces/${workspaceId}`],
  ["PATCH", () => `/v1/workspaces/${workspaceId}`, () => ({ name: "Renamed" })],
  ["DELETE", () => `/v1/workspaces/${workspaceId}`],
  ["GET", () => `/v1/workspaces/${workspaceId}/members`],
  ["POST", () => `/v1/workspaces/${workspaceId}/members`, () => ({ email: outsider.email, role: "admin" })],
  ["PATCH", () => `/v1/workspaces/${workspaceId}/members/${owner.id}`, () => ({ role: "viewer" })],
  ["DELETE", () => `/v1/workspaces/${workspaceId}/members/${owner.id}`],
  ["GET", () => `/v1/workspaces/${workspaceId}/projects`],
  ["POST", () => `/v1/workspaces/${workspaceId}/projects`, () => ({ name: "intrusion", gitUrl: "https://example.com/x.git" })],
  ["GET", () => `/v1/workspaces/${workspaceId}/audit-logs`],
  ["GET", () => `/v1/projects/${projectId}`],
  ["PATCH", () => `/v1/projects/${projectId}`, () => ({ name: "hijacked" })],
  ["POST", () => `/v1/projects/${projectId}/detect`, () => ({ files: [{ path: "package.json", content: "{}" }] })],
  ["GET", () => `/v1/projects/${projectId}/pipeline`],
  ["PUT", () => `/v1/projects/${projectId}/pipeline`, () => "commands:\n  build: make\n"],
  ["GET", () => `/v1/projects/${projectId}/pipeline/versions`],
  ["GET", () => `/v1/projects/${projectId}/pipeline/versions/1`],
  ["PUT", () => `/v1/projects/${projectId}/secrets/TOKEN`, () => ({ value: "a long secret" })],
  ["DELETE", () => `/v1/projects/${projectId}/secrets/TOKEN`],
  ["POST", () => `/v1/projects/${projectId}/hooks`],
  ["GET", () => `/v1/projects/${projectId}/hooks`],
  ["DELETE", () => `/v1/projects/${projectId}/hooks`],
  ["POST", () => `/v1/projects/${projectId}/builds`, () => ({})],
  ["GET", () => `/v1/projects/${projectId}/builds`],
  ["POST", () => `/v1/workspaces/${workspaceId}/runner-tokens`, () => ({ name: "ci" })],
  ["GET", () => `/v1/workspaces/${workspaceId}/runner-tokens`],
  ["GET", () => `/v1/workspaces/${workspaceId}/runners`],
  ["GET", () => `/v1/workspaces/${workspaceId}/runner-queue`],
  ["DELETE", () => `/v1/projects/${projectId}`],
];

describe("a member of another workspace", () => {
  it.each(workspaceRoutes)("gets 404 for %s %s", async (method, path, body) => {
    const res = await call(method, path(), { token: outsider.accessToken, body: body?.() });
    expectProblem(res, 404, "not_found");
    expect(res.text).not.toContain("Tenant A");
  });

  it("gets the same 404 as for a resource that does not exist", async () => {
    const real = await call("GET", `/v1/projects/${projectId}`, { token: outsider.accessToken });
    const missing = await call("GET", `/v1/projects/${crypto.randomUUID()}`, { token: outsider.accessToken });
    expect(real.status).toBe(missing.status);
    expect(real.body.title).toBe(missing.body.title);
  });

  it("left everything as it was", async () => {
    const ws = await call("GET", `/v1/workspaces/${workspaceId}`, { token: owner.accessToken });
    expect(ws.body.name).toBe("Tenant A");
    const project = await call("GET", `/v1/projects/${projectId}`, { token: owner.accessToken });
    expect(project.status).toBe(200);
    const members = await call("GET", `/v1/workspaces/${workspaceId}/members`, { token: owner.accessToken });
    expect(members.body.items.map((m: { email: string }) => m.email)).not.toContain(outsider.email);
  });
});

const writes = workspaceRoutes.filter(([method]) => method !== "GET");

describe("a viewer", () => {
  it.each(writes)("gets 403 for %s %s", async (method, path, body) => {
    const res = await call(method, path(), { token: viewer.accessToken, body: body?.() });
    expectProblem(res, 403, "forbidden");
  });

  it("can read the workspace and its projects", async () => {
    expect((await call("GET", `/v1/workspaces/${workspaceId}`, { token: viewer.accessToken })).body.role).toBe("viewer");
    expect((await call("GET", `/v1/projects/${projectId}`, { token: viewer.accessToken })).status).toBe(200);
    expect((await call("GET", `/v1/workspaces/${workspaceId}/projects`, { token: viewer.accessToken })).body.items).toHaveLength(1);
  });

  it("cannot read the audit log", async () => {
    expectProblem(await call("GET", `/v1/workspaces/${workspaceId}/audit-logs`, { token: viewer.accessToken }), 403);
  });

  it("had each denial audited", async () => {
    const log = await call("GET", `/v1/workspaces/${workspaceId}/audit-logs?result=denied&limit=100`, { token: owner.accessToken });
    const byViewer = log.body.items.filter((e: { userId: string }) => e.userId === viewer.id);
    const byOutsider = log.body.items.filter((e: { userId: string }) => e.userId === outsider.id);
    expect(byViewer.length).toBeGreaterThanOrEqual(writes.length);
    expect(byOutsider.length).toBeGreaterThanOrEqual(workspaceRoutes.length);
    expect(byOutsider[0].details.reason).toBe("not_a_member");
  });
});
