/**
 * Sign in with GitHub (and GitLab) end to end on the local stack with the fakes: HTTP only, each
 * "browser" a cookie jar that follows redirects by hand, so every hop is checked. A new GitHub user
 * gets an account and a session and lands where they started; signing in again is the same user;
 * the same callback replayed is refused. Attacks that need the provider: a code from the
 * attacker's own flow injected into the victim's (PKCE refuses it), a callback URL sent to another
 * browser (login CSRF), an unverified address naming someone's account, and an address that has a
 * password account, which links only with that password.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeApp, FakeGitHub } from "../fakes/github.ts";
import { FakeGitLab } from "../fakes/gitlab.ts";
import { E2E } from "./support.js";

const gh = new FakeGitHub();
const gl = new FakeGitLab();
const e2e = new E2E();
let app: FakeApp;

/** A browser: its cookies (by name, whatever their attributes) and redirects followed one at a time. */
class Browser {
  readonly cookies = new Map<string, string>();
  /** Every URL visited, in order. */
  readonly visited: string[] = [];

  async request(url: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0 && url.startsWith(e2e.stack.apiUrl)) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    // The dashboard's writes carry its origin, as a browser's do.
    if ((init.method ?? "GET") !== "GET") headers.origin = e2e.stack.apiUrl;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(url, {
      method: init.method ?? "GET",
      headers,
      redirect: "manual",
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (url.startsWith(e2e.stack.apiUrl)) {
      for (const line of (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie()) {
        const [pair = ""] = line.split(";");
        const name = pair.slice(0, pair.indexOf("="));
        const value = pair.slice(pair.indexOf("=") + 1);
        if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
        else this.cookies.set(name, value);
      }
    }
    return res;
  }

  /** Follows redirects until a page on the dashboard (a path outside /v1/) or a page that is not a redirect. */
  async navigate(url: string): Promise<string> {
    let at = url;
    for (let hop = 0; hop < 10; hop++) {
      this.visited.push(at);
      const res = await this.request(at);
      await res.body?.cancel();
      const location = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !location) return at;
      at = new URL(location, at).toString();
      if (at.startsWith(e2e.stack.apiUrl) && !new URL(at).pathname.startsWith("/v1/")) return at;
    }
    throw new Error(`too many redirects: ${this.visited.join(" → ")}`);
  }

  /** Starts a flow and stops at the provider's redirect back, without following it. */
  async callbackUrl(provider = "github", returnTo = "/"): Promise<string> {
    const start = await this.request(`${e2e.stack.apiUrl}/v1/auth/oauth/${provider}/start?returnTo=${encodeURIComponent(returnTo)}`);
    expect(start.status).toBe(302);
    const atProvider = await fetch(start.headers.get("location") ?? "", { redirect: "manual" });
    expect(atProvider.status, await atProvider.clone().text()).toBe(302);
    return atProvider.headers.get("location") ?? "";
  }

  get signedIn(): boolean {
    return this.cookies.has("__Host-sparki_access");
  }

  async api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await this.request(`${e2e.stack.apiUrl}${path}`, { method, body });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
}

const dashboard = (path: string) => `${e2e.stack.apiUrl}${path}`;

beforeAll(async () => {
  await gh.start();
  await gl.start();
  app = gh.addApp({ slug: "sparki-login" });
  const gitlabApp = gl.addOAuthApp({ redirectUri: "http://placeholder.invalid/", scopes: ["read_user"] });
  await e2e.start({
    vars: {
      GITHUB_CLIENT_ID: app.clientId,
      GITHUB_CLIENT_SECRET: app.clientSecret,
      GITHUB_API_URL: gh.apiUrl,
      GITHUB_WEB_URL: gh.webUrl,
      GITLAB_URL: gl.url,
      GITLAB_CLIENT_ID: gitlabApp.clientId,
      GITLAB_CLIENT_SECRET: gitlabApp.secret,
    },
  });
  // The callback URLs as README tells an admin to register them.
  app.callbackUrls.push(`${e2e.stack.apiUrl}/v1/auth/oauth/github/callback`);
  const registered = gl.apps.find((a) => a.clientId === gitlabApp.clientId);
  if (registered) registered.redirectUri = `${e2e.stack.apiUrl}/v1/auth/oauth/gitlab/callback`;
}, 240_000);

afterAll(async () => {
  await e2e.close();
  await gh.close();
  await gl.close();
}, 60_000);

describe("Sign in with GitHub on the local stack", () => {
  it("offers both providers", async () => {
    expect((await new Browser().api("GET", "/v1/auth/providers")).body).toEqual({ password: true, oauth: ["github", "gitlab"] });
  });

  it("makes an account for a new GitHub user, signs them in and lands where they started; the callback replayed is refused", async () => {
    // Unique per run: the local-services pass shares one database between stacks.
    const newEmail = `Octo.New-${Date.now()}@example.com`;
    gh.addUser("octo-new", { name: "Octo New", emails: [{ email: newEmail, primary: true, verified: true, visibility: "public" }] });
    gh.browserUser = "octo-new";
    const browser = new Browser();
    const landed = await browser.navigate(`${e2e.stack.apiUrl}/v1/auth/oauth/github/start?returnTo=${encodeURIComponent("/workspaces/new")}`);
    expect(landed).toBe(dashboard("/workspaces/new"));
    expect(browser.visited.some((u) => u.startsWith(`${gh.webUrl}/login/oauth/authorize`))).toBe(true);
    expect(browser.signedIn).toBe(true);
    expect(browser.cookies.has("__Host-sparki_oauth")).toBe(false);
    const me = await browser.api("GET", "/v1/me");
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ email: newEmail.toLowerCase(), name: "Octo New" });
    const identities = await browser.api("GET", "/v1/me/identities");
    expect(identities.body).toMatchObject({ items: [{ provider: "github", login: "octo-new", email: newEmail.toLowerCase() }], hasPassword: false });
    // The only way in: unlinking it is refused.
    expect((await browser.api("DELETE", "/v1/me/identities/github")).status).toBe(409);

    // The same callback URL again, with the same cookies as then: the state worked once.
    const callback = browser.visited.find((u) => u.includes("/v1/auth/oauth/github/callback")) ?? "";
    const replay = new Browser();
    for (const [k, v] of browser.cookies) replay.cookies.set(k, v);
    replay.cookies.delete("__Host-sparki_access");
    replay.cookies.delete("__Host-sparki_refresh");
    expect(await replay.navigate(callback)).toBe(dashboard("/login?oauth_error=state"));
    expect(replay.signedIn).toBe(false);

    // Signing in again is the same user, not a second account.
    const again = new Browser();
    expect(await again.navigate(`${e2e.stack.apiUrl}/v1/auth/oauth/github/start`)).toBe(dashboard("/"));
    expect((await again.api("GET", "/v1/me")).body.user.id).toBe(me.body.user.id);
  });

  it("goes back to the login page when the user denies access at GitHub", async () => {
    gh.browserUser = "octo-new";
    gh.denyAuthorization = true;
    const browser = new Browser();
    expect(await browser.navigate(`${e2e.stack.apiUrl}/v1/auth/oauth/github/start`)).toBe(dashboard("/login?oauth_error=denied"));
    expect(browser.signedIn).toBe(false);
  });

  it("refuses the attacker's code injected into the victim's flow (PKCE), and the attacker's callback URL in the victim's browser (login CSRF)", async () => {
    gh.addUser("mallory", { emails: [{ email: `mallory-${Date.now()}@example.com`, primary: true, verified: true, visibility: null }] });
    gh.browserUser = "mallory";
    const attacker = new Browser();
    const attackersCallback = new URL(await attacker.callbackUrl());
    const code = attackersCallback.searchParams.get("code") ?? "";
    expect(code).not.toBe("");

    // The victim's browser, mid-flow with its own state and cookie, gets the attacker's code.
    gh.browserUser = "octo-new";
    const victim = new Browser();
    const victimsCallback = new URL(await victim.callbackUrl());
    victimsCallback.searchParams.set("code", code);
    expect(await victim.navigate(victimsCallback.toString())).toBe(dashboard("/login?oauth_error=provider"));
    expect(victim.signedIn).toBe(false);

    // A fresh code of the attacker's, whole callback URL sent to another browser: refused there.
    gh.browserUser = "mallory";
    const lure = await new Browser().callbackUrl();
    const other = new Browser();
    expect(await other.navigate(lure)).toBe(dashboard("/login?oauth_error=browser"));
    expect(other.signedIn).toBe(false);
  });

  it("never trusts an unverified address: a GitHub account naming someone's email unverified gets nothing", async () => {
    const victimEmail = `victim-${Date.now()}@example.com`;
    const victim = await e2e.signup(victimEmail, "victim's long password", "Victim");
    gh.addUser("taker", {
      emails: [
        { email: victimEmail, primary: true, verified: false, visibility: "public" },
        { email: `taker-${Date.now()}@example.com`, primary: false, verified: true, visibility: null },
      ],
    });
    gh.browserUser = "taker";
    const browser = new Browser();
    expect(await browser.navigate(`${e2e.stack.apiUrl}/v1/auth/oauth/github/start`)).toBe(dashboard("/login?oauth_error=unverified_email"));
    expect(browser.signedIn).toBe(false);
    expect(browser.cookies.has("__Host-sparki_oauth_link")).toBe(false);
    const identities = await fetch(`${e2e.stack.apiUrl}/v1/me/identities`, { headers: { authorization: `Bearer ${victim.accessToken}` } });
    expect(((await identities.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it("links a GitHub account to the password account with its verified email only after that password", async () => {
    const email = `linker-${Date.now()}@example.com`;
    const password = "the linker's long password";
    const account = await e2e.signup(email, password, "Linker");
    gh.addUser("linker", { emails: [{ email, primary: true, verified: true, visibility: "public" }] });
    gh.browserUser = "linker";
    const browser = new Browser();
    expect(await browser.navigate(`${e2e.stack.apiUrl}/v1/auth/oauth/github/start`)).toBe(dashboard("/login/link"));
    expect(browser.signedIn).toBe(false);
    expect((await browser.api("GET", "/v1/auth/oauth/link")).body).toEqual({ provider: "github", login: "linker", email });
    expect((await browser.api("POST", "/v1/auth/oauth/link", { password: "a wrong password" })).status).toBe(401);
    expect(browser.signedIn).toBe(false);
    const linked = await browser.api("POST", "/v1/auth/oauth/link", { password });
    expect(linked.status).toBe(200);
    expect(linked.body.user.id).toBe(account.user.id);
    expect(linked.body).not.toHaveProperty("accessToken");
    expect(browser.signedIn).toBe(true);
    expect(browser.cookies.has("__Host-sparki_oauth_link")).toBe(false);

    // From now on GitHub signs straight in as that account; with a password, unlinking is allowed.
    const next = new Browser();
    expect(await next.navigate(`${e2e.stack.apiUrl}/v1/auth/oauth/github/start`)).toBe(dashboard("/"));
    expect((await next.api("GET", "/v1/me")).body.user.id).toBe(account.user.id);
    expect((await next.api("DELETE", "/v1/me/identities/github")).status).toBe(204);
  });
});

describe("Linking from the account page", () => {
  it("links GitLab to an account made with GitHub (no password: on the session), and refuses a GitLab account that is someone else's", async () => {
    gh.addUser("octo-links", { emails: [{ email: `octo-links-${Date.now()}@example.com`, primary: true, verified: true, visibility: null }] });
    gh.browserUser = "octo-links";
    const browser = new Browser();
    expect(await browser.navigate(`${e2e.stack.apiUrl}/v1/auth/oauth/github/start`)).toBe(dashboard("/"));
    // GitLab's account has another address, unverified even: linking trusts the session, not the email.
    gl.signedIn = gl.addUser({ username: "octo-links-gl", email: `elsewhere-${Date.now()}@example.com`, confirmed: false });
    const started = await browser.api("POST", "/v1/me/identities/gitlab");
    expect(started.status).toBe(200);
    expect(await browser.navigate(started.body.url)).toBe(dashboard("/account?linked=gitlab"));
    const identities = await browser.api("GET", "/v1/me/identities");
    expect(identities.body.items.map((i: { provider: string; login: string }) => [i.provider, i.login])).toEqual([
      ["github", "octo-links"],
      ["gitlab", "octo-links-gl"],
    ]);
    // Now either may go; the last one may not.
    expect((await browser.api("DELETE", "/v1/me/identities/github")).status).toBe(204);
    expect((await browser.api("DELETE", "/v1/me/identities/gitlab")).status).toBe(409);

    // Someone else signed in on the same GitLab account tries to link it to theirs.
    const other = new Browser();
    gh.addUser("octo-other", { emails: [{ email: `octo-other-${Date.now()}@example.com`, primary: true, verified: true, visibility: null }] });
    gh.browserUser = "octo-other";
    await other.navigate(`${e2e.stack.apiUrl}/v1/auth/oauth/github/start`);
    const theirs = await other.api("POST", "/v1/me/identities/gitlab");
    expect(await other.navigate(theirs.body.url)).toBe(dashboard("/account?oauth_error=taken"));
    expect((await other.api("GET", "/v1/me/identities")).body.items.map((i: { provider: string }) => i.provider)).toEqual(["github"]);
  });

  it("asks a password account for its password before linking, whatever the provider's email", async () => {
    const email = `pw-links-${Date.now()}@example.com`;
    const password = "pw links long password";
    await e2e.signup(email, password, "PW");
    const browser = new Browser();
    // Signed in with a cookie session, as the dashboard is.
    expect((await browser.api("POST", "/v1/auth/login", { email, password, session: "cookie" })).status).toBe(200);
    gh.addUser("pw-links", { emails: [{ email: `different-${Date.now()}@example.com`, primary: true, verified: true, visibility: null }] });
    gh.browserUser = "pw-links";
    const started = await browser.api("POST", "/v1/me/identities/github");
    expect(await browser.navigate(started.body.url)).toBe(dashboard("/login/link"));
    expect((await browser.api("GET", "/v1/me/identities")).body.items).toEqual([]);
    expect((await browser.api("GET", "/v1/auth/oauth/link")).body).toEqual({ provider: "github", login: "pw-links", email });
    expect((await browser.api("POST", "/v1/auth/oauth/link", { password })).status).toBe(200);
    expect((await browser.api("GET", "/v1/me/identities")).body.items).toMatchObject([{ provider: "github", login: "pw-links" }]);
  });
});

describe("Sign in with GitLab on the local stack", () => {
  it("makes an account for a GitLab user with a confirmed email, and refuses an unconfirmed one", async () => {
    gl.signedIn = gl.addUser({ username: "tanuki", name: "Tanuki", email: `tanuki-${Date.now()}@example.com` });
    const browser = new Browser();
    expect(await browser.navigate(`${e2e.stack.apiUrl}/v1/auth/oauth/gitlab/start`)).toBe(dashboard("/"));
    expect(browser.signedIn).toBe(true);
    expect((await browser.api("GET", "/v1/me/identities")).body.items).toMatchObject([{ provider: "gitlab", login: "tanuki" }]);

    gl.signedIn = gl.addUser({ username: "unconfirmed", email: `unconfirmed-${Date.now()}@example.com`, confirmed: false });
    const other = new Browser();
    expect(await other.navigate(`${e2e.stack.apiUrl}/v1/auth/oauth/gitlab/start`)).toBe(dashboard("/login?oauth_error=unverified_email"));
    expect(other.signedIn).toBe(false);
  });
});
