import { describe, expect, it } from "vitest";
import { addMember, call, createProject, createWorkspace, expectProblem, signup } from "../testing/api.js";

describe("personal API tokens", () => {
  it("shows the token once, authenticates with it, lists without it, and revokes it", async () => {
    const user = await signup();
    const created = await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "laptop" } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^spk_[\w-]{43}$/);
    expect(created.body.prefix).toBe(created.body.token.slice(0, 12));

    const me = await call("GET", "/v1/me", { token: created.body.token });
    expect(me.body.user.id).toBe(user.id);

    const list = await call("GET", "/v1/tokens", { token: user.accessToken });
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ id: created.body.id, name: "laptop", scope: "admin" });
    expect(list.body.items[0]).not.toHaveProperty("token");
    expect(list.text).not.toContain(created.body.token);
    expect(list.body.items[0].lastUsedAt).not.toBeNull();

    expect((await call("DELETE", `/v1/tokens/${created.body.id}`, { token: user.accessToken })).status).toBe(204);
    expectProblem(await call("GET", "/v1/me", { token: created.body.token }), 401, "invalid_token");
  });

  it("keeps tokens private to their owner", async () => {
    const alice = await signup("alice");
    const bob = await signup("bob");
    const created = await call("POST", "/v1/tokens", { token: alice.accessToken, body: { name: "alice's" } });
    expect((await call("GET", "/v1/tokens", { token: bob.accessToken })).body.items).toEqual([]);
    expectProblem(await call("DELETE", `/v1/tokens/${created.body.id}`, { token: bob.accessToken }), 404);
    expect((await call("GET", "/v1/me", { token: created.body.token })).status).toBe(200);
  });

  it("stops an expiring token at its expiry date", async () => {
    const user = await signup();
    const created = await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "short", expiresInDays: 1 } });
    expect(Date.parse(created.body.expiresAt) - Date.now()).toBeGreaterThan(86_000_000);
    expectProblem(await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "x", expiresInDays: 0 } }), 400);
  });
});

describe("token scopes", () => {
  const mint = async (token: string, scope?: string) => call("POST", "/v1/tokens", { token, body: { name: `t-${scope}`, ...(scope ? { scope } : {}) } });

  it("a read token reads and nothing else, and cannot mint any token", async () => {
    const user = await signup();
    const workspace = await createWorkspace(user);
    const project = await createProject(user, workspace.id);
    const read = (await mint(user.accessToken, "read")).body.token as string;
    expect((await call("GET", `/v1/projects/${project.id}`, { token: read })).status).toBe(200);
    expect((await call("GET", "/v1/tokens", { token: read })).status).toBe(200);
    expectProblem(await call("POST", `/v1/projects/${project.id}/builds`, { token: read, body: { commitSha: "c".repeat(40) } }), 403, "forbidden");
    expectProblem(await call("POST", "/v1/workspaces", { token: read, body: { name: "nope" } }), 403, "forbidden");
    expectProblem(await mint(read, "read"), 403, "forbidden");
    expectProblem(await mint(read, "write"), 403, "forbidden");
    expect((await call("GET", "/v1/tokens", { token: user.accessToken })).body.items).toHaveLength(1);
  });

  it("a write token builds but does not administer, mint tokens or touch secrets", async () => {
    const user = await signup();
    const workspace = await createWorkspace(user);
    const project = await createProject(user, workspace.id);
    const write = (await mint(user.accessToken, "write")).body.token as string;
    const build = await call("POST", `/v1/projects/${project.id}/builds`, { token: write, body: { commitSha: "d".repeat(40) } });
    expect(build.status, build.text).toBe(201);
    await call("POST", `/v1/builds/${build.body.id}/cancel`, { token: write });
    const friend = await signup("friend");
    expectProblem(
      await call("POST", `/v1/workspaces/${workspace.id}/members`, { token: write, body: { email: friend.email, role: "admin" } }),
      403,
      "forbidden",
    );
    expectProblem(await call("PUT", `/v1/projects/${project.id}/secrets/TOKEN`, { token: write, body: { value: "s3cret-value" } }), 403, "forbidden");
    expectProblem(await call("PATCH", `/v1/workspaces/${workspace.id}`, { token: write, body: { name: "Renamed" } }), 403, "forbidden");
    expectProblem(await mint(write, "admin"), 403, "forbidden");
    expectProblem(await mint(write, "read"), 403, "forbidden");
  });

  it("an admin token does what its owner's role allows, and mints tokens no broader than itself", async () => {
    const user = await signup();
    const workspace = await createWorkspace(user);
    const admin = (await mint(user.accessToken)).body;
    expect(admin.scope).toBe("admin");
    const friend = await signup("friend");
    await addMember(user, workspace.id, friend, "viewer");
    const narrower = await mint(admin.token, "read");
    expect(narrower.status).toBe(201);
    expect(narrower.body.scope).toBe("read");
    // The scope narrows the role, never widens it: the viewer's admin token still cannot write.
    const viewerAdmin = (await mint(friend.accessToken, "admin")).body.token as string;
    expectProblem(
      await call("POST", `/v1/workspaces/${workspace.id}/projects`, { token: viewerAdmin, body: { name: "x", gitUrl: "https://github.com/acme/x.git" } }),
      403,
      "forbidden",
    );
    expectProblem(await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "x", scope: "root" } }), 400, "validation");
  });
});
