/**
 * A deployed site tries to act as its visitor, on the real local stack (wrangler dev, a real
 * runner building and deploying a real sparki-static site) with a real Chromium. Before sites had
 * their own origin, a page served at /sites/… on the dashboard's origin read a logged-in
 * visitor's profile, minted an API token in their name, made its author owner of their workspace
 * and read their refresh token. Now the visitor logs in through the dashboard (the browser holds
 * the real cookies), opens the attacker's page on its own host, and the page gets nothing: every
 * attempt, with absolute and relative URLs, reports no data, and Postgres shows no new token and
 * no new member.
 */
import pg from "pg";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchSite } from "../../dev/sites-proxy.js";
import { siteUrl } from "../../server/sites/hosts.js";
import { E2E, oneStepYml, until } from "../e2e/support.js";
import { launch } from "../web/browser.js";

const e2e = new E2E();
const victim = { email: `victim-${Date.now()}@sparki.test`, password: "the victim's long password", token: "", userId: "", workspaceId: "" };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let projectId = "";
let siteAddress = "";

/** The attacker's script: every attempt, absolute (the API's origin) and relative (the page's own). */
function attackJs(api: string, workspaceId: string): string {
  return `const API = ${JSON.stringify(api)};
const json = { "content-type": "application/json" };
const plain = { "content-type": "text/plain" };
const results = {};
async function attempt(name, url, init = {}) {
  try {
    const res = await fetch(url, { credentials: "include", ...init });
    results[name] = { status: res.status, type: res.type, body: (await res.text()).slice(0, 500) };
  } catch (err) {
    results[name] = { error: String(err) };
  }
}
for (const [tag, base] of [["absolute", API], ["relative", ""]]) {
  await attempt(tag + " GET /v1/me", base + "/v1/me");
  await attempt(tag + " POST /v1/tokens", base + "/v1/tokens", { method: "POST", headers: json, body: JSON.stringify({ name: "pwned" }) });
  await attempt(tag + " POST /v1/tokens no-cors", base + "/v1/tokens", { method: "POST", mode: "no-cors", headers: plain, body: JSON.stringify({ name: "pwned-simple" }) });
  await attempt(tag + " POST members", base + "/v1/workspaces/${workspaceId}/members", { method: "POST", headers: json, body: JSON.stringify({ email: "attacker@sparki.test", role: "owner" }) });
  await attempt(tag + " POST members no-cors", base + "/v1/workspaces/${workspaceId}/members", { method: "POST", mode: "no-cors", headers: plain, body: JSON.stringify({ email: "attacker@sparki.test", role: "owner" }) });
  await attempt(tag + " POST /v1/auth/refresh", base + "/v1/auth/refresh", { method: "POST", headers: json, body: "{}" });
  results[tag + " beacon"] = { queued: navigator.sendBeacon(base + "/v1/tokens", JSON.stringify({ name: "pwned-beacon" })) };
}
// The control: the page's own files are fetched fine, so the script ran and fetch works.
await attempt("control", "/index.html");
results.cookie = document.cookie;
document.getElementById("out").textContent = JSON.stringify(results);
document.body.dataset.done = "1";
`;
}

async function count(sql: string, value: string): Promise<number> {
  const client = new pg.Client({ connectionString: e2e.stack.databaseUrl });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql, [value])).rows[0]?.n ?? -1);
  } finally {
    await client.end();
  }
}
const tokensOfVictim = () => count("select count(*) as n from api_tokens where user_id = $1", victim.userId);
const membersOfVictimWorkspace = () => count("select count(*) as n from memberships where workspace_id = $1", victim.workspaceId);

async function asVictim<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${e2e.stack.apiUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(victim.token ? { authorization: `Bearer ${victim.token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

beforeAll(async () => {
  await e2e.start();
  await e2e.runner("site-attack");
  // The victim: an account with a workspace of their own (through the API; the browser logs in below).
  const signup = await asVictim("POST", "/v1/auth/signup", { email: victim.email, password: victim.password, name: "Victim" });
  expect([200, 201, 202], JSON.stringify(signup.body)).toContain(signup.status);
  const login = await asVictim<{ accessToken: string; user: { id: string } }>("POST", "/v1/auth/login", { email: victim.email, password: victim.password });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  victim.token = login.body.accessToken;
  victim.userId = login.body.user.id;
  victim.workspaceId = (await asVictim<{ id: string }>("POST", "/v1/workspaces", { name: "Victim's team" })).body.id;

  // The attacker (the E2E account) deploys a page whose script tries everything.
  const repo = await e2e.gitRepo("attack-site", {
    "package.json": JSON.stringify({ name: "attack", version: "1.0.0", private: true }),
    "site/index.html": `<!doctype html><html><body><h1>free stuff</h1><pre id="out"></pre><script type="module" src="/attack.js"></script></body></html>`,
    "site/attack.js": attackJs(e2e.stack.apiUrl, victim.workspaceId),
    "sparki.yml": `${oneStepYml("mkdir -p dist && cp site/* dist/", "dist")}deployments:\n  - stage: production\n    platform: sparki-static\n`,
  });
  projectId = (await e2e.project("attack", repo)).id;
  const buildId = await e2e.trigger(projectId);
  expect((await e2e.waitForEnd(buildId)).status).toBe("succeeded");
  const deployment = await until(
    "the site's deployment to succeed",
    async () => {
      const found = (await e2e.api("GET", `/v1/projects/${projectId}/deployments`)).body.items.find((d: any) => d.buildId === buildId);
      const d = found ? (await e2e.api("GET", `/v1/deployments/${found.id}`)).body : undefined;
      return d?.status === "succeeded" ? d : undefined;
    },
    90_000,
    { intervalMs: 250, diagnostics: () => e2e.diagnostics() },
  );
  // The address users are shown is the deployment's own host on the sites origin.
  expect(deployment.stages[0].url).toBe(siteUrl(e2e.stack.sitesOrigin, { projectId, deploymentId: deployment.id }));
  siteAddress = siteUrl(e2e.stack.sitesOrigin, { projectId, stage: "production" }) ?? "";

  browser = await launch();
  context = await browser.newContext({ baseURL: e2e.stack.apiUrl });
  page = await context.newPage();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await e2e.close();
}, 60_000);

describe("a deployed site visited by a logged-in dashboard user", () => {
  it("reads nothing and changes nothing with the visitor's session", async () => {
    // Logged in through the dashboard: the browser holds the real session cookies.
    await page.goto("/login");
    await page.getByLabel("Email").fill(victim.email);
    await page.getByLabel("Password").fill(victim.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL((url) => !url.pathname.startsWith("/login"));
    expect((await context.cookies(e2e.stack.apiUrl)).length).toBeGreaterThan(0);
    // The session works on the dashboard's origin: there is something for a site to steal.
    const me = await page.request.get("/v1/me");
    expect(await me.text()).toContain(victim.email);
    const tokensBefore = await tokensOfVictim();
    const membersBefore = await membersOfVictimWorkspace();

    await page.goto(siteAddress);
    await page.waitForSelector("body[data-done]", { timeout: 30_000 });
    type Attempt = { status?: number; type?: string; body?: string; error?: string; queued?: boolean };
    const { cookie, ...results } = JSON.parse((await page.locator("#out").textContent()) ?? "{}") as { cookie: string } & Record<string, Attempt>;

    expect(results.control?.status).toBe(200);
    expect(cookie).toBe("");
    const attempts = Object.entries(results as Record<string, Attempt>).filter(([name]) => name !== "control" && !name.endsWith("beacon"));
    expect(attempts).toHaveLength(12);
    for (const [name, result] of attempts) {
      const read = result.status !== undefined && result.status >= 200 && result.status < 300;
      expect(read, `${name}: ${JSON.stringify(result)}`).toBe(false);
      expect(JSON.stringify(result), name).not.toMatch(new RegExp(`${victim.email}|spk_|srt_|accessToken|refreshToken`));
    }
    // Relative URLs are the site's own (missing) files, never the API.
    expect(results["relative GET /v1/me"]?.status).toBe(404);
    expect(await tokensOfVictim()).toBe(tokensBefore);
    expect(await membersOfVictimWorkspace()).toBe(membersBefore);
    expect((await asVictim<{ items: unknown[] }>("GET", "/v1/tokens")).body.items).toHaveLength(tokensBefore);
  });

  it("serves the site with a CSP that grants only its own origin, and nosniff", async () => {
    const res = await fetchSite(siteAddress);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain(new URL(e2e.stack.apiUrl).host);
    expect(csp).not.toMatch(/https?:|\*/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(new URL(siteAddress).hostname).not.toBe(new URL(e2e.stack.apiUrl).hostname);
  });

  it("serves the dashboard with its own security headers, and nothing may frame it", async () => {
    for (const path of ["/", "/some/deep/link", "/assets/app.js"]) {
      const res = await fetch(`${e2e.stack.apiUrl}${path}`);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), path).toBe("same-origin");
    }
    // The dashboard's page never reaches a site's host.
    const onSite = await fetchSite(`${siteAddress}some/deep/link`);
    expect(onSite.status).toBe(404);
    expect(await onSite.text()).not.toContain('<div id="app">');
  });

  it("no longer serves the page on the API's origin: /sites/… only redirects to the site's host", async () => {
    for (const path of ["", "attack.js", "index.html"]) {
      const res = await fetch(`${e2e.stack.apiUrl}/sites/${projectId}/production/${path}`, { redirect: "manual" });
      expect(res.status, path).toBe(308);
      expect(res.headers.get("location"), path).toBe(`${siteAddress}${path}`);
      expect(await res.text(), path).not.toMatch(/free stuff|attempt\(/);
    }
    // In the browser, the old address lands on the site's own origin, not the dashboard's.
    await page.goto(`${e2e.stack.apiUrl}/sites/${projectId}/production/`);
    expect(new URL(page.url()).origin).toBe(new URL(siteAddress).origin);
  });
});
