/**
 * The typed client against the GitHub fake over real HTTP: check runs and deployments as Sparki
 * will drive them, visibility of private repositories, paging, and the retry rules (5xx,
 * Retry-After, GitHub's secondary and primary rate limits). Waits are recorded, not slept.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeGitHub } from "../../../test/fakes/github.ts";
import { GitHubClient } from "./api.ts";
import { GitHubApiError } from "./http.ts";

const gh = new FakeGitHub();
let token: string;
let waits: number[] = [];
const SHA = "c0ffee".padEnd(40, "0");
const transport = () => ({ apiUrl: gh.apiUrl, sleep: async (ms: number) => void waits.push(ms) });
const client = () => new GitHubClient(token, transport());

beforeAll(async () => {
  await gh.start();
  const app = gh.addApp();
  gh.addRepo("acme/shop", { private: true, refs: { main: SHA } });
  gh.addRepo("acme/site");
  gh.addRepo("other/secret", { private: true });
  token = gh.mintToken(gh.install(app, "acme"));
});
afterAll(() => gh.close());
beforeEach(() => {
  waits = [];
});

async function rejection(p: Promise<unknown>): Promise<GitHubApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GitHubApiError);
  return err as GitHubApiError;
}

const sent = (path: string) => gh.requests.filter((r) => r.path.startsWith(path)).length;

describe("repositories", () => {
  it("reads a private repository the installation reaches; one it does not is a 404, a public one is visible", async () => {
    await expect(client().getRepository("acme", "shop")).resolves.toMatchObject({ full_name: "acme/shop", private: true, default_branch: "main" });
    expect((await client().getRepository("acme", "shop")).clone_url).toBe(`${gh.webUrl}/acme/shop.git`);
    const hidden = await rejection(client().getRepository("other", "secret"));
    expect(hidden.status).toBe(404);
    expect(hidden.details.documentationUrl).toMatch(/^https:\/\/docs\.github\.com/);
    await expect(client().getRepository("acme", "site")).resolves.toMatchObject({ private: false });
  });

  it("pages through the installation's repositories", async () => {
    const app = gh.addApp();
    for (let i = 0; i < 130; i++) gh.addRepo(`bulk/r${i}`);
    const c = new GitHubClient(gh.mintToken(gh.install(app, "bulk")), transport());
    const repos = await c.listInstallationRepositories();
    expect(repos).toHaveLength(130);
    expect(new Set(repos.map((r) => r.id)).size).toBe(130);
  });
});

describe("check runs", () => {
  it("queued → in_progress → completed success, with the build's link and a summary", async () => {
    const run = await client().createCheckRun("acme", "shop", { name: "sparki", head_sha: SHA, status: "queued", details_url: "http://sparki.test/builds/b1" });
    expect(run).toMatchObject({ status: "queued", conclusion: null, details_url: "http://sparki.test/builds/b1" });
    await expect(client().updateCheckRun("acme", "shop", run.id, { status: "in_progress" })).resolves.toMatchObject({ status: "in_progress" });
    const done = await client().updateCheckRun("acme", "shop", run.id, {
      conclusion: "failure",
      output: { title: "Build failed", summary: "step `test` exited 1", text: "last lines" },
    });
    expect(done).toMatchObject({ status: "completed", conclusion: "failure" });
    const stored = gh.repoApi.checkRuns.get(run.id);
    expect(stored?.output).toEqual({ title: "Build failed", summary: "step `test` exited 1", text: "last lines" });
    expect(stored?.completed_at).toMatch(/Z$/);
  });

  it("GitHub's 422s: completed without a conclusion, a conclusion beside another status, output without a summary", async () => {
    const run = await client().createCheckRun("acme", "shop", { name: "sparki", head_sha: SHA });
    const before = sent("/repos/acme/shop/check-runs");
    expect((await rejection(client().updateCheckRun("acme", "shop", run.id, { status: "completed" }))).status).toBe(422);
    expect((await rejection(client().updateCheckRun("acme", "shop", run.id, { status: "in_progress", conclusion: "success" }))).status).toBe(422);
    const noSummary = { title: "t" } as unknown as { title: string; summary: string };
    expect((await rejection(client().updateCheckRun("acme", "shop", run.id, { output: noSummary }))).status).toBe(422);
    expect((await rejection(client().updateCheckRun("acme", "shop", run.id, { output: { title: "t", summary: "x".repeat(65_536) } }))).status).toBe(422);
    expect((await rejection(client().createCheckRun("acme", "shop", { name: "sparki", head_sha: "main" }))).status).toBe(422);
    // A 422 is final: one request each.
    expect(sent("/repos/acme/shop/check-runs") - before).toBe(5);
    expect(gh.repoApi.checkRuns.get(run.id)?.status).toBe("queued");
  });
});

describe("deployments", () => {
  it("a deployment per stage with statuses carrying its URL; a newer success makes the older inactive", async () => {
    // A failing check on the commit does not block it: the client sends required_contexts [].
    await client().createCheckRun("acme", "shop", { name: "lint", head_sha: SHA, conclusion: "failure" });
    const d1 = await client().createDeployment("acme", "shop", {
      ref: SHA,
      environment: "preview-pr-7",
      transient_environment: true,
      production_environment: false,
    });
    expect(d1).toMatchObject({ sha: SHA, environment: "preview-pr-7" });
    await client().createDeploymentStatus("acme", "shop", d1.id, { state: "in_progress", log_url: "http://sparki.test/deployments/d1" });
    const ok = await client().createDeploymentStatus("acme", "shop", d1.id, {
      state: "success",
      environment_url: "http://pr-7.sites.test",
      log_url: "http://sparki.test/deployments/d1",
    });
    expect(ok).toMatchObject({ state: "success", environment_url: "http://pr-7.sites.test", environment: "preview-pr-7" });
    const statuses = await client().listDeploymentStatuses("acme", "shop", d1.id);
    expect(statuses.map((s) => s.state)).toEqual(["success", "in_progress"]);

    const s1 = await client().createDeployment("acme", "shop", { ref: "main", environment: "staging", production_environment: false });
    await client().createDeploymentStatus("acme", "shop", s1.id, { state: "success", environment_url: "http://staging.test" });
    const s2 = await client().createDeployment("acme", "shop", { ref: "main", environment: "staging", production_environment: false });
    await client().createDeploymentStatus("acme", "shop", s2.id, { state: "success", environment_url: "http://staging.test" });
    expect((await client().listDeploymentStatuses("acme", "shop", s1.id))[0]?.state).toBe("inactive");
    expect((await client().listDeployments("acme", "shop", { environment: "staging" })).map((d) => d.id)).toEqual([s2.id, s1.id]);
  });

  it("GitHub's refusals: an unknown ref (422), a long description (422), failing checks without required_contexts (409)", async () => {
    expect((await rejection(client().createDeployment("acme", "shop", { ref: "no-such-branch", environment: "staging" }))).status).toBe(422);
    const d = await client().createDeployment("acme", "shop", { ref: SHA, environment: "staging" });
    expect((await rejection(client().createDeploymentStatus("acme", "shop", d.id, { state: "success", description: "x".repeat(141) }))).status).toBe(422);
    const raw = await fetch(`${gh.apiUrl}/repos/acme/shop/deployments`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "user-agent": "test", "content-type": "application/json" },
      body: JSON.stringify({ ref: SHA, environment: "staging" }),
    });
    expect(raw.status).toBe(409);
  });
});

describe("retries", () => {
  it("retries a GET through 502 and 503", async () => {
    gh.failNext(503, { times: 2, on: "GET /repos/acme/site" });
    const before = sent("/repos/acme/site");
    await expect(client().getRepository("acme", "site")).resolves.toMatchObject({ full_name: "acme/site" });
    expect(sent("/repos/acme/site") - before).toBe(3);
    expect(waits).toHaveLength(2);
  });

  it("never repeats a create after a 5xx (GitHub may have acted), and says so", async () => {
    gh.failNext(502, { on: "POST /repos/acme/shop/check-runs" });
    const before = sent("/repos/acme/shop/check-runs");
    const err = await rejection(client().createCheckRun("acme", "shop", { name: "sparki", head_sha: SHA }));
    expect(err.status).toBe(502);
    expect(err.retryable).toBe(true);
    expect(sent("/repos/acme/shop/check-runs") - before).toBe(1);
  });

  it("a secondary rate limit (403 + Retry-After) is waited out even for a create", async () => {
    gh.failNext(403, { retryAfter: 3, on: "POST /repos/acme/shop/check-runs" });
    const run = await client().createCheckRun("acme", "shop", { name: "sparki", head_sha: SHA });
    expect(run.status).toBe("queued");
    expect(waits[0]).toBeGreaterThanOrEqual(3000);
  });

  it("a primary rate limit waits until x-ratelimit-reset; a wait past the budget is handed back, not slept", async () => {
    gh.failNext(403, { resetAt: Math.floor(Date.now() / 1000) + 5, on: "GET /repos/acme/site" });
    await expect(client().getRepository("acme", "site")).resolves.toBeTruthy();
    expect(waits[0]).toBeGreaterThan(3000);

    waits = [];
    gh.failNext(429, { retryAfter: 120, on: "GET /repos/acme/site" });
    const err = await rejection(client().getRepository("acme", "site"));
    expect(err).toMatchObject({ status: 429, details: { rateLimited: true, retryAfterMs: 30_000 } });
    expect(waits).toEqual([]);
  });

  it("a 403 that is no rate limit (a missing permission) is final", async () => {
    const app = gh.addApp({ permissions: { metadata: "read", checks: "read" } });
    gh.addRepo("ro/app");
    const c = new GitHubClient(gh.mintToken(gh.install(app, "ro")), transport());
    const err = await rejection(c.createCheckRun("ro", "app", { name: "sparki", head_sha: SHA }));
    expect(err.status).toBe(403);
    expect(err.retryable).toBe(false);
    expect(waits).toEqual([]);
  });

  it("no answer at all is status 0 and retryable", async () => {
    const c = new GitHubClient(token, { apiUrl: "http://127.0.0.1:9/api/v3", sleep: async () => {} });
    const err = await rejection(c.getRepository("acme", "site"));
    expect(err.status).toBe(0);
    expect(err.retryable).toBe(true);
  });
});
