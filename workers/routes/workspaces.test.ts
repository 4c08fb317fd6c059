import { describe, expect, it } from "vitest";
import { addMember, call, createWorkspace, expectProblem, signup } from "../testing/api.js";

describe("workspaces", () => {
  it("derives a unique slug and makes the creator owner", async () => {
    const user = await signup();
    const name = `Slug Test ${crypto.randomUUID().slice(0, 4)}`;
    const first = await call("POST", "/v1/workspaces", { token: user.accessToken, body: { name } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name, role: "owner", slug: name.toLowerCase().replaceAll(" ", "-") });
    const second = await call("POST", "/v1/workspaces", { token: user.accessToken, body: { name } });
    expect(second.status).toBe(201);
    expect(second.body.slug).toMatch(new RegExp(`^${first.body.slug}-[0-9a-f]{6}$`));
  });

  it("renames for admins and keeps the slug", async () => {
    const owner = await signup();
    const admin = await signup("admin");
    const ws = await createWorkspace(owner, "Old Name");
    await addMember(owner, ws.id, admin, "admin");
    const res = await call("PATCH", `/v1/workspaces/${ws.id}`, { token: admin.accessToken, body: { name: "New Name" } });
    expect(res.body).toMatchObject({ name: "New Name", slug: ws.slug, role: "admin" });
  });

  it("lets only owners delete, and takes projects with it", async () => {
    const owner = await signup();
    const admin = await signup("admin");
    const ws = await createWorkspace(owner);
    await addMember(owner, ws.id, admin, "admin");
    const project = await call("POST", `/v1/workspaces/${ws.id}/projects`, {
      token: owner.accessToken,
      body: { name: "doomed", gitUrl: "git@github.com:a/b.git" },
    });
    expectProblem(await call("DELETE", `/v1/workspaces/${ws.id}`, { token: admin.accessToken }), 403);
    expect((await call("DELETE", `/v1/workspaces/${ws.id}`, { token: owner.accessToken })).status).toBe(204);
    expectProblem(await call("GET", `/v1/workspaces/${ws.id}`, { token: owner.accessToken }), 404);
    expectProblem(await call("GET", `/v1/projects/${project.body.id}`, { token: owner.accessToken }), 404);
  });
});

describe("members", () => {
  it("adds a teammate by email, who then sees the workspace", async () => {
    const owner = await signup();
    const mate = await signup("mate");
    const ws = await createWorkspace(owner, "Team");
    expectProblem(await call("GET", `/v1/workspaces/${ws.id}`, { token: mate.accessToken }), 404);
    const added = await call("POST", `/v1/workspaces/${ws.id}/members`, {
      token: owner.accessToken,
      body: { email: mate.email.toUpperCase(), role: "developer" },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ userId: mate.id, email: mate.email, role: "developer" });
    // The cached "not a member" answer was dropped when the membership changed.
    expect((await call("GET", `/v1/workspaces/${ws.id}`, { token: mate.accessToken })).body.role).toBe("developer");
    const list = await call("GET", `/v1/workspaces/${ws.id}/members`, { token: mate.accessToken });
    expect(list.body.items.map((m: { role: string }) => m.role)).toEqual(["owner", "developer"]);
    expectProblem(await call("POST", `/v1/workspaces/${ws.id}/members`, { token: owner.accessToken, body: { email: mate.email, role: "viewer" } }), 409);
  });

  it("says clearly when no account has that email", async () => {
    const owner = await signup();
    const ws = await createWorkspace(owner);
    const res = await call("POST", `/v1/workspaces/${ws.id}/members`, { token: owner.accessToken, body: { email: "nobody@example.test", role: "viewer" } });
    expectProblem(res, 404);
    expect(res.body.detail).toMatch(/sign up first/);
  });

  it("applies a role change at once (permission cache invalidated)", async () => {
    const owner = await signup();
    const mate = await signup("mate");
    const ws = await createWorkspace(owner);
    await addMember(owner, ws.id, mate, "viewer");
    const body = { name: "by-mate", gitUrl: "https://github.com/a/b" };
    expectProblem(await call("POST", `/v1/workspaces/${ws.id}/projects`, { token: mate.accessToken, body }), 403);
    const promoted = await call("PATCH", `/v1/workspaces/${ws.id}/members/${mate.id}`, { token: owner.accessToken, body: { role: "developer" } });
    expect(promoted.body.role).toBe("developer");
    expect((await call("POST", `/v1/workspaces/${ws.id}/projects`, { token: mate.accessToken, body })).status).toBe(201);
    expect((await call("DELETE", `/v1/workspaces/${ws.id}/members/${mate.id}`, { token: owner.accessToken })).status).toBe(204);
    expectProblem(await call("GET", `/v1/workspaces/${ws.id}`, { token: mate.accessToken }), 404);
  });

  it("never leaves a workspace without an owner", async () => {
    const owner = await signup();
    const ws = await createWorkspace(owner);
    expectProblem(await call("PATCH", `/v1/workspaces/${ws.id}/members/${owner.id}`, { token: owner.accessToken, body: { role: "admin" } }), 409, "last_owner");
    expectProblem(await call("DELETE", `/v1/workspaces/${ws.id}/members/${owner.id}`, { token: owner.accessToken }), 409, "last_owner");
    const second = await signup("second");
    await addMember(owner, ws.id, second, "owner");
    expect((await call("PATCH", `/v1/workspaces/${ws.id}/members/${owner.id}`, { token: owner.accessToken, body: { role: "admin" } })).status).toBe(200);
    expectProblem(await call("DELETE", `/v1/workspaces/${ws.id}/members/${second.id}`, { token: second.accessToken }), 409, "last_owner");
  });

  it("keeps ownership out of admins' hands", async () => {
    const owner = await signup();
    const admin = await signup("admin");
    const dev = await signup("dev");
    const ws = await createWorkspace(owner);
    await addMember(owner, ws.id, admin, "admin");
    expectProblem(await call("POST", `/v1/workspaces/${ws.id}/members`, { token: admin.accessToken, body: { email: dev.email, role: "owner" } }), 403);
    expect((await call("POST", `/v1/workspaces/${ws.id}/members`, { token: admin.accessToken, body: { email: dev.email, role: "developer" } })).status).toBe(
      201,
    );
    expectProblem(await call("PATCH", `/v1/workspaces/${ws.id}/members/${owner.id}`, { token: admin.accessToken, body: { role: "viewer" } }), 403);
    expectProblem(await call("DELETE", `/v1/workspaces/${ws.id}/members/${owner.id}`, { token: admin.accessToken }), 403);
    expectProblem(await call("PATCH", `/v1/workspaces/${ws.id}/members/${dev.id}`, { token: admin.accessToken, body: { role: "owner" } }), 403);
  });

  it("lets any member leave", async () => {
    const owner = await signup();
    const viewer = await signup("viewer");
    const ws = await createWorkspace(owner);
    await addMember(owner, ws.id, viewer, "viewer");
    expect((await call("DELETE", `/v1/workspaces/${ws.id}/members/${viewer.id}`, { token: viewer.accessToken })).status).toBe(204);
    expectProblem(await call("GET", `/v1/workspaces/${ws.id}`, { token: viewer.accessToken }), 404);
  });
});
