import { beforeAll, describe, expect, it } from "vitest";
import { call, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";

let user: TestUser;
let ws: { id: string };
beforeAll(async () => {
  user = await signup();
  ws = await createWorkspace(user);
});

describe("projects", () => {
  it("creates with a default branch and reads back", async () => {
    const res = await call("POST", `/v1/workspaces/${ws.id}/projects`, {
      token: user.accessToken,
      body: { name: "web", gitUrl: "https://github.com/acme/web.git" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: "web", workspaceId: ws.id, defaultBranch: "main", framework: null, language: null });
    const got = await call("GET", `/v1/projects/${res.body.id}`, { token: user.accessToken });
    expect(got.body).toEqual(res.body);
  });

  it.each([
    ["https://github.com/acme/api.git", 201],
    ["git@github.com:acme/api.git", 201],
    ["ssh://git@example.com:2222/acme/api.git", 201],
    ["file:///srv/git/api", 201],
    ["/home/dev/api", 201],
    ["ftp://example.com/api", 400],
    ["https://user:secret@github.com/acme/api.git", 400],
    ["not a url", 400],
  ])("validates git URL %s", async (gitUrl, status) => {
    const res = await call("POST", `/v1/workspaces/${ws.id}/projects`, {
      token: user.accessToken,
      body: { name: `p-${crypto.randomUUID().slice(0, 8)}`, gitUrl },
    });
    expect(res.status, res.text).toBe(status);
    if (status === 400) expect(res.body.errors[0].pointer).toBe("body.gitUrl");
  });

  it("refuses bad branch names and duplicate names", async () => {
    const bad = await call("POST", `/v1/workspaces/${ws.id}/projects`, {
      token: user.accessToken,
      body: { name: "b", gitUrl: "https://x.dev/a/b", defaultBranch: "feature..x" },
    });
    expectProblem(bad, 400, "validation");
    await call("POST", `/v1/workspaces/${ws.id}/projects`, { token: user.accessToken, body: { name: "twin", gitUrl: "https://x.dev/a/b" } });
    const dup = await call("POST", `/v1/workspaces/${ws.id}/projects`, { token: user.accessToken, body: { name: "twin", gitUrl: "https://x.dev/a/c" } });
    expectProblem(dup, 409, "conflict");
  });

  it("updates, invalidating the cached metadata", async () => {
    const created = await call("POST", `/v1/workspaces/${ws.id}/projects`, { token: user.accessToken, body: { name: "mutable", gitUrl: "https://x.dev/a/m" } });
    await call("GET", `/v1/projects/${created.body.id}`, { token: user.accessToken });
    const patched = await call("PATCH", `/v1/projects/${created.body.id}`, { token: user.accessToken, body: { defaultBranch: "develop", name: "renamed" } });
    expect(patched.body).toMatchObject({ defaultBranch: "develop", name: "renamed" });
    const got = await call("GET", `/v1/projects/${created.body.id}`, { token: user.accessToken });
    expect(got.body).toMatchObject({ defaultBranch: "develop", name: "renamed" });
    expectProblem(await call("PATCH", `/v1/projects/${created.body.id}`, { token: user.accessToken, body: {} }), 400);
    expectProblem(await call("PATCH", `/v1/projects/${created.body.id}`, { token: user.accessToken, body: { name: "twin" } }), 409);
  });

  it("deletes, and the cached copy goes too", async () => {
    const created = await call("POST", `/v1/workspaces/${ws.id}/projects`, { token: user.accessToken, body: { name: "temp", gitUrl: "https://x.dev/a/t" } });
    await call("GET", `/v1/projects/${created.body.id}`, { token: user.accessToken });
    expect((await call("DELETE", `/v1/projects/${created.body.id}`, { token: user.accessToken })).status).toBe(204);
    expectProblem(await call("GET", `/v1/projects/${created.body.id}`, { token: user.accessToken }), 404);
  });
});

describe("project pagination", () => {
  it("walks every project once, newest first", async () => {
    const owner = await signup();
    const space = await createWorkspace(owner);
    const names: string[] = [];
    for (let i = 0; i < 7; i++) {
      names.push(`p${i}`);
      await call("POST", `/v1/workspaces/${space.id}/projects`, { token: owner.accessToken, body: { name: `p${i}`, gitUrl: "https://x.dev/a/b" } });
    }
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : "?limit=3";
      const page = await call("GET", `/v1/workspaces/${space.id}/projects${query}`, { token: owner.accessToken });
      expect(page.status).toBe(200);
      pageSizes.push(page.body.items.length);
      seen.push(...page.body.items.map((p: { name: string }) => p.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(pageSizes).toEqual([3, 3, 1]);
    expect(seen).toEqual([...names].reverse());
  });
});
