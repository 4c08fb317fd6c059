/**
 * Attacks on signing in with GitHub or GitLab, in workerd (GitHub configured, its hosts
 * unreachable: a code exchange there fails as a refused one does). With the GitHub fake, end to end:
 * test/e2e/oauth.test.ts (a foreign code injected into a victim's flow, an unverified email naming
 * someone's account, a replayed successful callback).
 * - a forged state, a replayed one, one from another browser and an expired one never sign in and
 *   never answer 5xx; a callback in the wrong browser burns nothing of the right browser's flow;
 * - `returnTo` cannot send the browser to another site;
 * - linking needs the pending link the callback signed and the account's password, from the dashboard;
 * - unlinking never removes the last way in; an account without a password cannot log in with one.
 */
import { env, SELF } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { oauthFlows, userIdentities, users } from "../../server/db/schema.js";
import { signAccessToken } from "../../workers/auth/jwt.js";
import { linkCookie, signPendingLink } from "../../workers/auth/oauth-cookies.js";
import { hashToken } from "../../workers/auth/tokens.js";
import { call, expectProblem, signup, testIp, uniqueEmail } from "../../workers/testing/api.js";
import { withDb } from "../../workers/testing/deploy.js";

const own = "http://sparki.test";
const JWT_SECRET = env.JWT_SECRET ?? "";

async function get(path: string, cookie?: string): Promise<Response> {
  return SELF.fetch(`${own}${path}`, { redirect: "manual", headers: cookie ? { cookie } : {} });
}

/** Starts a flow as a browser would: its state and the nonce cookie it got. */
async function startFlow(returnTo?: string): Promise<{ state: string; cookie: string }> {
  const res = await get(`/v1/auth/oauth/github/start${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ""}`);
  expect(res.status).toBe(302);
  const state = new URL(res.headers.get("location") ?? "").searchParams.get("state") ?? "";
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  return { state, cookie };
}

/** A callback's outcome: where it sends the browser, and that it set no session. */
async function callback(query: string, cookie?: string): Promise<string> {
  const res = await get(`/v1/auth/oauth/github/callback?${query}`, cookie);
  expect(res.status, await res.clone().text()).toBe(303);
  expect(res.headers.get("set-cookie") ?? "").not.toMatch(/__Host-sparki_(access|refresh)=[^;]/);
  return res.headers.get("location") ?? "";
}

describe("the callback", () => {
  it("refuses a forged state, with or without a flow cookie", async () => {
    const { cookie } = await startFlow();
    expect(await callback("code=abc&state=forged-state", cookie)).toBe("/login?oauth_error=state");
    expect(await callback("code=abc&state=forged-state")).toBe("/login?oauth_error=state");
    expect(await callback("code=abc")).toBe("/login?oauth_error=state");
  });

  it("refuses a callback in another browser, and leaves the flow to the browser that started it", async () => {
    const victim = await startFlow();
    const attacker = await startFlow();
    // The attacker's browser presents the victim's state (or no cookie at all).
    expect(await callback(`code=abc&state=${victim.state}`, attacker.cookie)).toBe("/login?oauth_error=browser");
    expect(await callback(`code=abc&state=${victim.state}`)).toBe("/login?oauth_error=browser");
    // The victim's own callback still gets as far as the code exchange (GitHub is unreachable here).
    expect(await callback(`code=abc&state=${victim.state}`, victim.cookie)).toBe("/login?oauth_error=provider");
  });

  it("takes a state once: a replayed callback is refused", async () => {
    const flow = await startFlow();
    expect(await callback(`error=access_denied&state=${flow.state}`, flow.cookie)).toBe("/login?oauth_error=denied");
    expect(await callback(`error=access_denied&state=${flow.state}`, flow.cookie)).toBe("/login?oauth_error=state");
    const stateHash = await hashToken(flow.state);
    expect(await withDb((db) => db.select().from(oauthFlows).where(eq(oauthFlows.stateHash, stateHash)))).toEqual([]);
  });

  it("refuses an expired flow", async () => {
    const flow = await startFlow();
    const stateHash = await hashToken(flow.state);
    await withDb((db) =>
      db
        .update(oauthFlows)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(oauthFlows.stateHash, stateHash)),
    );
    expect(await callback(`code=abc&state=${flow.state}`, flow.cookie)).toBe("/login?oauth_error=expired");
  });

  it("answers hostile query values with a redirect to the login page, never a 5xx", async () => {
    const flow = await startFlow();
    for (const q of [`state=${"a".repeat(512)}`, "state=%00%ff", `code=%00&state=${flow.state}&error=${"x".repeat(200)}`]) {
      const res = await get(`/v1/auth/oauth/github/callback?${q}`, flow.cookie);
      expect([303, 400]).toContain(res.status);
    }
    expect((await get(`/v1/auth/oauth/github/callback?state=${"a".repeat(600)}`)).status).toBe(400);
  });
});

describe("returnTo", () => {
  it("is a path on this site: another origin, a protocol-relative or backslashed URL is refused before any flow", async () => {
    for (const bad of ["https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)", "/ok\n/x", "evil.example"]) {
      const res = await get(`/v1/auth/oauth/github/start?returnTo=${encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
      expect(res.headers.get("set-cookie"), bad).toBeNull();
      expect(res.headers.get("location"), bad).toBeNull();
    }
  });
});

describe("linking to an existing account", () => {
  const pendingFor = async (user: { id: string; email: string }, providerId = `${Math.floor(Math.random() * 1e9)}`, secret = JWT_SECRET) =>
    `${linkCookie}=${await signPendingLink({ sub: user.id, provider: "github", pid: providerId, login: "octo", email: user.email }, secret)}`;
  const confirm = (cookie: string | undefined, password: string, origin = own) =>
    SELF.fetch(`${own}/v1/auth/oauth/link`, {
      method: "POST",
      headers: { "content-type": "application/json", origin, "cf-connecting-ip": testIp(), ...(cookie ? { cookie } : {}) },
      body: JSON.stringify({ password }),
    });
  const identitiesOf = (userId: string) => withDb((db) => db.select().from(userIdentities).where(eq(userIdentities.userId, userId)));

  it("needs the pending link the callback signed: none or a forged one is a 404 and links nothing", async () => {
    const user = await signup("link-forged");
    expect((await confirm(undefined, user.password)).status).toBe(404);
    expect((await confirm(await pendingFor(user, "1", "another-secret-that-is-long-enough-for-hs256"), user.password)).status).toBe(404);
    expect((await confirm(`${linkCookie}=not.a.jwt`, user.password)).status).toBe(404);
    expect(await identitiesOf(user.id)).toEqual([]);
  });

  it("needs the account's password: a wrong one is a 401 and links nothing", async () => {
    const user = await signup("link-wrong");
    const res = await confirm(await pendingFor(user), "not the password");
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await identitiesOf(user.id)).toEqual([]);
  });

  it("is refused from another origin (the cookie would otherwise let any site link it)", async () => {
    const user = await signup("link-origin");
    expect((await confirm(await pendingFor(user), user.password, "http://evil.example")).status).toBe(403);
    expect(await identitiesOf(user.id)).toEqual([]);
  });

  it("links with the password and signs in; the same GitHub account cannot then be linked to someone else", async () => {
    const user = await signup("link-ok");
    const githubId = `${Math.floor(Math.random() * 1e9)}`;
    const res = await confirm(await pendingFor(user, githubId), user.password);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/__Host-sparki_access=[^;]+/);
    expect(res.headers.get("set-cookie")).toMatch(/__Host-sparki_oauth_link=;/);
    expect((await identitiesOf(user.id)).map((i) => [i.provider, i.providerUserId])).toEqual([["github", githubId]]);
    const other = await signup("link-other");
    expect((await confirm(await pendingFor(other, githubId), other.password)).status).toBe(409);
    expect(await identitiesOf(other.id)).toEqual([]);
  });
});

describe("linking from the account page", () => {
  it("is for the signed-in account only: no caller is a 401, a read-only token a 403, a cookie from another site a 403", async () => {
    expectProblem(await call("POST", "/v1/me/identities/github"), 401);
    const user = await signup("link-start");
    const token = await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "ro", scope: "read" } });
    expect(token.status, token.text).toBe(201);
    expectProblem(await call("POST", "/v1/me/identities/github", { token: token.body.token }), 403);
    const login = await call("POST", "/v1/auth/login", {
      body: { email: user.email, password: user.password, session: "cookie" },
      headers: { origin: own, "cf-connecting-ip": testIp() },
    });
    const access = (login.headers.get("set-cookie") ?? "").match(/__Host-sparki_access=([^;]+)/)?.[1];
    expect(access).toBeDefined();
    const forged = await call("POST", "/v1/me/identities/github", { headers: { cookie: `__Host-sparki_access=${access}`, origin: "http://evil.example" } });
    expectProblem(forged, 403);
    expect(forged.headers.get("set-cookie")).toBeNull();
  });

  it("binds the flow to the caller and this browser; its refusals go back to the account page", async () => {
    const user = await signup("link-flow");
    const res = await call("POST", "/v1/me/identities/github", { token: user.accessToken });
    expect(res.status, res.text).toBe(200);
    const state = new URL(res.body.url).searchParams.get("state") ?? "";
    const [flow] = await withDb(async (db) =>
      db
        .select()
        .from(oauthFlows)
        .where(eq(oauthFlows.stateHash, await hashToken(state))),
    );
    expect(flow?.linkUserId).toBe(user.id);
    const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    expect(cookie).toMatch(/^__Host-sparki_oauth=/);
    expect(await callback(`error=access_denied&state=${state}`, cookie)).toBe("/account?oauth_error=denied");
  });
});

describe("an account made by signing in with a provider", () => {
  async function oauthOnlyUser(providers: ("github" | "gitlab")[]): Promise<{ id: string; email: string; token: string }> {
    const email = uniqueEmail("oauth-only");
    const id = await withDb(async (db) => {
      const [u] = await db.insert(users).values({ email, name: "o", passwordHash: null, emailVerified: true }).returning({ id: users.id });
      for (const provider of providers) {
        await db.insert(userIdentities).values({ userId: u!.id, provider, providerUserId: `${Math.floor(Math.random() * 1e9)}`, login: "o", email });
      }
      return u!.id;
    });
    return { id, email, token: (await signAccessToken(id, JWT_SECRET)).token };
  }

  it("cannot unlink its last way in (409), but can unlink one of two", async () => {
    const one = await oauthOnlyUser(["github"]);
    expectProblem(await call("DELETE", "/v1/me/identities/github", { token: one.token }), 409, "conflict");
    expect((await call("GET", "/v1/me/identities", { token: one.token })).body).toMatchObject({ items: [{ provider: "github" }], hasPassword: false });

    const two = await oauthOnlyUser(["github", "gitlab"]);
    expect((await call("DELETE", "/v1/me/identities/github", { token: two.token })).status).toBe(204);
    expectProblem(await call("DELETE", "/v1/me/identities/gitlab", { token: two.token }), 409, "conflict");
  });

  it("two unlinks at once leave one way in", async () => {
    const two = await oauthOnlyUser(["github", "gitlab"]);
    const answers = await Promise.all(["github", "gitlab"].map((p) => call("DELETE", `/v1/me/identities/${p}`, { token: two.token })));
    expect(answers.map((a) => a.status).sort()).toEqual([204, 409]);
    expect(await withDb((db) => db.select().from(userIdentities).where(eq(userIdentities.userId, two.id)))).toHaveLength(1);
  });

  it("a password account may unlink its only identity", async () => {
    const user = await signup("unlink-pw");
    await withDb((db) =>
      db.insert(userIdentities).values({ userId: user.id, provider: "gitlab", providerUserId: `${Math.floor(Math.random() * 1e9)}`, login: "u" }),
    );
    expect((await call("DELETE", "/v1/me/identities/gitlab", { token: user.accessToken })).status).toBe(204);
  });

  it("cannot log in with any password", async () => {
    const one = await oauthOnlyUser(["github"]);
    for (const password of ["", "null", "undefined", "x".repeat(72)]) {
      const res = await call("POST", "/v1/auth/login", { body: { email: one.email, password }, headers: { "cf-connecting-ip": testIp() } });
      expect([400, 401]).toContain(res.status);
    }
  });
});
