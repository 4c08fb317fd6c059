/**
 * The GitHub fake's own rules that the client tests do not reach (the client always behaves):
 * GitHub's refusals of requests without a User-Agent or with an unknown API version, tokens on
 * the wrong endpoints, check runs owned by another app, the login page, the form-encoded token
 * answer, and pushes over git.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGitHub } from "./github.ts";

const gh = new FakeGitHub();
const SHA = "d".repeat(40);
let token: string;
let otherToken: string;
let app: ReturnType<FakeGitHub["addApp"]>;

beforeAll(async () => {
  await gh.start();
  app = gh.addApp({ callbackUrls: ["http://sparki.test/cb"] });
  gh.addRepo("acme/shop");
  token = gh.mintToken(gh.install(app, "acme"));
  otherToken = gh.mintToken(gh.install(gh.addApp(), "acme"));
  gh.addUser("mona");
});
afterAll(() => gh.close());

const api = (path: string, init: RequestInit & { token?: string } = {}) =>
  fetch(`${gh.apiUrl}${path}`, {
    ...init,
    headers: {
      "user-agent": "test",
      "content-type": "application/json",
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.headers as Record<string, string>),
    },
  });

describe("the GitHub fake", () => {
  it("refuses a request without a User-Agent (403) and an unknown API version (400)", async () => {
    const noAgent = await fetch(`${gh.apiUrl}/repos/acme/shop`, { headers: { "user-agent": "" } });
    expect(noAgent.status).toBe(403);
    expect((await api("/repos/acme/shop", { headers: { "x-github-api-version": "2020-01-01" } })).status).toBe(400);
    expect((await api("/repos/acme/shop", { headers: { "x-github-api-version": "2022-11-28" } })).status).toBe(200);
  });

  it("answers 401 Bad credentials for an unknown token, and keeps /app for app JWTs and /user for user tokens", async () => {
    const bad = await api("/repos/acme/shop", { token: "ghs_nope" });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ message: "Bad credentials", documentation_url: expect.stringMatching(/^https:/) });
    expect((await api("/app", { token })).status).toBe(401);
    expect((await api("/user", { token })).status).toBe(403);
    expect((await api("/user")).status).toBe(401);
    expect((await api("/user", { token: gh.userToken(app, "mona") })).status).toBe(200);
  });

  it("lets only the app that created a check run change it", async () => {
    const created = await api("/repos/acme/shop/check-runs", { method: "POST", token, body: JSON.stringify({ name: "sparki", head_sha: SHA }) });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    const foreign = await api(`/repos/acme/shop/check-runs/${id}`, { method: "PATCH", token: otherToken, body: JSON.stringify({ status: "in_progress" }) });
    expect(foreign.status).toBe(403);
    const own = await api(`/repos/acme/shop/check-runs/${id}`, { method: "PATCH", token, body: JSON.stringify({ conclusion: "success" }) });
    expect(await own.json()).toMatchObject({ status: "completed", conclusion: "success", completed_at: expect.stringMatching(/Z$/) });
  });

  it("shows a login page when nobody is signed in, and answers the exchange form-encoded without Accept: application/json", async () => {
    gh.browserUser = null;
    const authorize = `${gh.webUrl}/login/oauth/authorize?client_id=${app.clientId}&redirect_uri=http://sparki.test/cb&state=s`;
    const page = await fetch(authorize, { redirect: "manual" });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/Sign in to GitHub/);
    gh.browserUser = "mona";
    const back = new URL((await fetch(authorize, { redirect: "manual" })).headers.get("location") ?? "");
    const res = await fetch(`${gh.webUrl}/login/oauth/access_token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: app.clientId, client_secret: app.clientSecret, code: back.searchParams.get("code") ?? "" }),
    });
    expect(res.headers.get("content-type")).toMatch(/x-www-form-urlencoded/);
    expect(new URLSearchParams(await res.text()).get("access_token")).toMatch(/^ghu_/);
  });

  it("refuses a git push and answers 404 for a repository it does not serve", async () => {
    expect((await fetch(`${gh.webUrl}/acme/shop.git/info/refs?service=git-receive-pack`)).status).toBe(403);
    expect((await fetch(`${gh.webUrl}/acme/shop.git/info/refs?service=git-upload-pack`)).status).toBe(404);
  });

  it("records requests with their host and path below the API root", async () => {
    await api("/repos/acme/shop", { token });
    expect(gh.requests.at(-1)).toMatchObject({ method: "GET", host: "api", path: "/repos/acme/shop", authorization: `Bearer ${token}` });
  });
});
