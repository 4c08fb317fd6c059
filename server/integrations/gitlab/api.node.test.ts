/**
 * The GitLab client against the GitLab fake over real HTTP: projects with and without access,
 * the commit-status lifecycle with GitLab's transition rules, retries, and GitLab's error shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessLevel, FakeGitLab, type FakeProject } from "../../../test/fakes/gitlab.ts";
import { GitLabClient, isRefusedTransition } from "./api.ts";
import { GitLabApiError, type GitLabTransport } from "./http.ts";

let gl: FakeGitLab;
let shop: FakeProject;
let other: FakeProject;
let open: FakeProject;
let token: string;
const waits: number[] = [];

const transport = (): GitLabTransport => ({
  baseUrl: gl.url,
  // Waits are recorded, not slept: the policy is what is under test, not the clock.
  sleep: async (ms) => {
    waits.push(ms);
  },
});
const client = (t: string): GitLabClient => new GitLabClient(t, transport());
const failure = async (p: Promise<unknown>): Promise<GitLabApiError> => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof GitLabApiError)) throw new Error(`expected a GitLabApiError, got ${String(err)}`);
  return err;
};

beforeAll(async () => {
  gl = new FakeGitLab();
  await gl.start();
  shop = await gl.addProject({ path: "acme/shop", visibility: "private", defaultBranch: "main" });
  other = await gl.addProject({ path: "acme/secret", visibility: "private" });
  open = await gl.addProject({ path: "oss/lib", visibility: "public" });
  token = gl.addProjectToken(shop, { scopes: ["api", "read_repository"] });
});

afterAll(async () => {
  await gl.close();
});

describe("projects", () => {
  it("reads a project by id and by its URL-encoded path", async () => {
    const byId = await client(token).getProject(shop.id);
    const byPath = await client(token).getProject("acme/shop");
    expect(byId).toEqual(byPath);
    expect(byId).toMatchObject({ id: shop.id, path_with_namespace: "acme/shop", default_branch: "main", visibility: "private" });
    expect(byId.http_url_to_repo).toBe(`${gl.url}/acme/shop.git`);
    expect(gl.requests.at(-1)?.path).toBe("/api/v4/projects/acme%2Fshop");
  });

  it("a private project is 404 without a token and to another project's token; a public one is readable", async () => {
    const anonymous = await fetch(`${gl.url}/api/v4/projects/${shop.id}`);
    expect(anonymous.status).toBe(404);
    expect(await anonymous.json()).toEqual({ message: "404 Project Not Found" });
    const stranger = await failure(client(token).getProject(other.id));
    expect(stranger.status).toBe(404);
    expect(stranger.message).toContain("404 Project Not Found");
    expect((await client(token).getProject("oss/lib")).visibility).toBe("public");
  });

  it("an unknown or revoked token is 401; a clone-only token lacks the API scope (403 insufficient_scope)", async () => {
    expect((await failure(client("glpat-nope").getProject(shop.id))).status).toBe(401);
    const cloneOnly = gl.addProjectToken(shop, { scopes: ["read_repository"] });
    const scoped = await failure(client(cloneOnly).getProject(shop.id));
    expect(scoped.status).toBe(403);
    expect(scoped.details.code).toBe("insufficient_scope");
    const revoked = gl.addProjectToken(shop, { scopes: ["api"] });
    gl.revoke(revoked);
    expect((await failure(client(revoked).getProject(shop.id))).status).toBe(401);
  });
});

describe("commit statuses", () => {
  it("pending → running → success, shown as one status linking to the build", async () => {
    const gl_ = client(token);
    const target_url = "https://sparki.example/builds/b1";
    const pending = await gl_.setCommitStatus(shop.id, shop.head, { state: "pending", ref: "main", name: "sparki", target_url, description: "Queued" });
    expect(pending).toMatchObject({ status: "pending", sha: shop.head, ref: "main", name: "sparki", target_url });
    const running = await gl_.setCommitStatus(shop.id, shop.head, { state: "running", ref: "main", name: "sparki", target_url });
    expect(running.id).toBe(pending.id);
    const done = await gl_.setCommitStatus(shop.id, shop.head, { state: "success", ref: "main", name: "sparki", description: "Passed" });
    expect(done).toMatchObject({ id: pending.id, status: "success", description: "Passed", target_url });
    const listed = await gl_.listCommitStatuses(shop.id, shop.head, { name: "sparki" });
    expect(listed.map((s) => s.status)).toEqual(["success"]);
  });

  it("GitLab refuses pending or running twice and running → pending (400 Cannot transition status)", async () => {
    const sha = await gl.commit(shop, "feature", { "a.txt": "a" });
    const gl_ = client(token);
    await gl_.setCommitStatus(shop.id, sha, { state: "pending", ref: "feature", name: "sparki" });
    const twice = await failure(gl_.setCommitStatus(shop.id, sha, { state: "pending", ref: "feature", name: "sparki" }));
    expect(twice.status).toBe(400);
    expect(twice.message).toContain("Cannot transition status via :enqueue from :pending");
    expect(isRefusedTransition(twice)).toBe(true);
    await gl_.setCommitStatus(shop.id, sha, { state: "running", ref: "feature", name: "sparki" });
    const again = await failure(gl_.setCommitStatus(shop.id, sha, { state: "running", ref: "feature", name: "sparki" }));
    expect(again.message).toContain("Cannot transition status via :run from :running");
    const back = await failure(gl_.setCommitStatus(shop.id, sha, { state: "pending", ref: "feature", name: "sparki" }));
    expect(back.message).toContain("via :enqueue from :running");
    // A 400 is final: nothing was retried.
    expect(gl.requests.filter((r) => r.method === "POST" && r.path.includes(sha))).toHaveLength(5);
  });

  it("a finished status is replaced by a new one: the old shows only with all=true", async () => {
    const sha = await gl.commit(shop, "rebuild", { "b.txt": "b" });
    const gl_ = client(token);
    const first = await gl_.setCommitStatus(shop.id, sha, { state: "failed", name: "sparki" });
    expect(first.ref).toBe("rebuild");
    const second = await gl_.setCommitStatus(shop.id, sha, { state: "running", name: "sparki" });
    expect(second.id).not.toBe(first.id);
    expect((await gl_.listCommitStatuses(shop.id, sha)).map((s) => s.status)).toEqual(["running"]);
    expect((await gl_.listCommitStatuses(shop.id, sha, { all: true })).map((s) => s.status)).toEqual(["failed", "running"]);
  });

  it("refuses an unknown commit, a reporter's token and another project's token", async () => {
    const unknown = await failure(client(token).setCommitStatus(shop.id, "f".repeat(40), { state: "success" }));
    expect(unknown.status).toBe(404);
    expect(unknown.message).toContain("404 Commit Not Found");
    const reporter = gl.addProjectToken(shop, { scopes: ["api"], level: AccessLevel.reporter });
    expect((await failure(client(reporter).setCommitStatus(shop.id, shop.head, { state: "success" }))).status).toBe(403);
    expect((await failure(client(token).setCommitStatus(other.id, other.head, { state: "success" }))).status).toBe(404);
    // Public: readable, but only members may write.
    expect((await failure(client(token).setCommitStatus(open.id, open.head, { state: "success" }))).status).toBe(403);
    expect(open.statuses).toHaveLength(0);
  });
});

describe("retries", () => {
  it("a 503 is retried and the call succeeds", async () => {
    waits.length = 0;
    const before = gl.requests.length;
    gl.failNext(503, { on: "GET /api/v4/projects" });
    expect((await client(token).getProject(shop.id)).id).toBe(shop.id);
    expect(gl.requests.length - before).toBe(2);
    expect(waits).toHaveLength(1);
  });

  it("a 429 (plain text) waits at least its Retry-After, also for the status POST", async () => {
    waits.length = 0;
    gl.failNext(429, { retryAfter: 3, times: 2, on: "POST" });
    const sha = await gl.commit(shop, "limited", { "c.txt": "c" });
    const s = await client(token).setCommitStatus(shop.id, sha, { state: "success", name: "sparki" });
    expect(s.status).toBe("success");
    expect(waits).toHaveLength(2);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(3000);
  });

  it("a status POST that met GitLab's lock (409) is sent again; a project GET's 409 is final", async () => {
    waits.length = 0;
    gl.failNext(409, { on: "POST" });
    const sha = await gl.commit(shop, "locked", { "d.txt": "d" });
    expect((await client(token).setCommitStatus(shop.id, sha, { state: "pending", name: "sparki" })).status).toBe("pending");
    expect(waits).toHaveLength(1);
    gl.failNext(409, { on: "GET" });
    expect((await failure(client(token).getProject(shop.id))).status).toBe(409);
  });

  it("a Retry-After beyond the budget is not slept: the error says when to come back", async () => {
    waits.length = 0;
    gl.failNext(429, { retryAfter: 3600, on: "GET" });
    const err = await failure(client(token).getProject(shop.id));
    expect(err.status).toBe(429);
    expect(err.retryable).toBe(true);
    expect(err.details.retryAfterMs).toBe(30_000);
    expect(err.message).toContain("Retry later");
    expect(waits).toHaveLength(0);
  });

  it("a 500 is final (a GitLab bug more often than a blip), with GitLab's message", async () => {
    gl.failNext(500);
    const err = await failure(client(token).getProject(shop.id));
    expect(err.status).toBe(500);
    expect(err.message).toContain("500 Internal Server Error");
  });

  it("no answer at all is status 0 and retryable", async () => {
    const dead = new GitLabClient(token, { baseUrl: "http://127.0.0.1:9", sleep: async () => undefined });
    const err = await failure(dead.getProject(1));
    expect(err.status).toBe(0);
    expect(err.retryable).toBe(true);
  });
});

describe("the fake, called as GitLab's docs call it", () => {
  it("takes an access token as PRIVATE-TOKEN or Bearer, an OAuth token only as Bearer", async () => {
    const path = `${gl.url}/api/v4/projects/${shop.id}`;
    expect((await fetch(path, { headers: { "PRIVATE-TOKEN": token } })).status).toBe(200);
    expect((await fetch(path, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const member = gl.addUser({ username: "dev" });
    gl.addMember(shop, member, AccessLevel.developer);
    const oauth = gl.issue(member.id, ["api"], "oauth");
    expect((await fetch(path, { headers: { authorization: `Bearer ${oauth}` } })).status).toBe(200);
    const asPrivate = await fetch(path, { headers: { "PRIVATE-TOKEN": oauth } });
    expect(asPrivate.status).toBe(401);
    expect(await asPrivate.json()).toEqual({ message: "401 Unauthorized" });
    expect(gl.requests.at(-1)?.auth).toBe("private-token");
  });

  it("takes a status as a form or query (curl style) and validates state as Grape does", async () => {
    const sha = await gl.commit(shop, "curl", { "e.txt": "e" });
    const url = `${gl.url}/api/v4/projects/${encodeURIComponent("acme/shop")}/statuses/${sha}`;
    const headers = { "PRIVATE-TOKEN": token, "content-type": "application/x-www-form-urlencoded" };
    const form = await fetch(url, { method: "POST", headers, body: "state=running&context=lint" });
    expect(form.status).toBe(201);
    expect(await form.json()).toMatchObject({ status: "running", name: "lint", ref: "curl" });
    const query = await fetch(`${url}?state=success&name=lint`, { method: "POST", headers: { "PRIVATE-TOKEN": token } });
    expect(await query.json()).toMatchObject({ status: "success", name: "lint" });
    const missing = await fetch(url, { method: "POST", headers: { "PRIVATE-TOKEN": token } });
    expect([missing.status, await missing.json()]).toEqual([400, { error: "state is missing" }]);
    const invalid = await fetch(`${url}?state=done`, { method: "POST", headers: { "PRIVATE-TOKEN": token } });
    expect([invalid.status, await invalid.json()]).toEqual([400, { error: "state does not have a valid value" }]);
  });
});
