import { describe, expect, it } from "vitest";
import { call, expectProblem, signup, uniqueEmail } from "../testing/api.js";

/** The Set-Cookie headers of a response (workerd joins them with ", "). */
function setCookies(headers: Headers): string[] {
  return (headers.get("set-cookie") ?? "").split(/, (?=sparki_)/).filter((c) => c !== "");
}

describe("signup and login", () => {
  it("signs up, returns a session and sets HttpOnly cookies", async () => {
    const email = uniqueEmail("Signup").toUpperCase();
    const res = await call("POST", "/v1/auth/signup", { body: { email, password: "a long password", name: "Ada" } });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ email: email.toLowerCase(), name: "Ada", id: expect.any(String) });
    expect(res.body.accessToken.split(".")).toHaveLength(3);
    expect(res.body.refreshToken).toMatch(/^srt_/);
    expect(res.body.expiresIn).toBe(900);
    expect(res.body.user).not.toHaveProperty("passwordHash");
    const cookies = setCookies(res.headers);
    expect(cookies.find((c) => c.startsWith("sparki_access="))).toMatch(/HttpOnly.*Secure.*SameSite=Lax|HttpOnly; Secure/);
    expect(cookies.find((c) => c.startsWith("sparki_refresh="))).toMatch(/Path=\/v1\/auth/);
    for (const cookie of cookies) expect(cookie).toMatch(/HttpOnly/);
  });

  it("refuses a second account with the same email", async () => {
    const user = await signup();
    const res = await call("POST", "/v1/auth/signup", { body: { email: user.email, password: "another password", name: "x" } });
    expectProblem(res, 409, "conflict");
  });

  it("logs in with the right password only", async () => {
    const user = await signup();
    const ok = await call("POST", "/v1/auth/login", { body: { email: user.email, password: user.password } });
    expect(ok.status).toBe(200);
    expect(ok.body.user.id).toBe(user.id);
    const wrong = await call("POST", "/v1/auth/login", { body: { email: user.email, password: "not the password" } });
    expectProblem(wrong, 401, "invalid_credentials");
    const nobody = await call("POST", "/v1/auth/login", { body: { email: uniqueEmail("ghost"), password: "whatever1" } });
    expectProblem(nobody, 401, "invalid_credentials");
    expect(nobody.body.detail).toBe(wrong.body.detail);
  });

  it("rate limits logins per email and answers 429 with Retry-After", async () => {
    const user = await signup();
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 12; i++) {
      last = await call("POST", "/v1/auth/login", { body: { email: user.email, password: "wrong password" } });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    expectProblem(last!, 429, "rate_limited");
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    // Even the right password is refused while the limit holds.
    const right = await call("POST", "/v1/auth/login", { body: { email: user.email, password: user.password } });
    expect(right.status).toBe(429);
  });

  it("rate limits logins per IP across emails", async () => {
    const ip = `203.0.113.${Math.floor(Math.random() * 250)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) {
      const res = await call("POST", "/v1/auth/login", {
        body: { email: uniqueEmail("spray"), password: "guess1234" },
        headers: { "cf-connecting-ip": ip },
      });
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(30);
    expect(statuses.slice(30)).toEqual([429, 429]);
  });
});

describe("me", () => {
  it("shows the caller and their workspaces with roles", async () => {
    const user = await signup();
    const empty = await call("GET", "/v1/me", { token: user.accessToken });
    expect(empty.body).toEqual({ user: expect.objectContaining({ id: user.id, email: user.email }), workspaces: [] });
    const ws = await call("POST", "/v1/workspaces", { token: user.accessToken, body: { name: "Me Corp" } });
    const me = await call("GET", "/v1/me", { token: user.accessToken });
    expect(me.body.workspaces).toEqual([{ id: ws.body.id, name: "Me Corp", slug: ws.body.slug, role: "owner" }]);
  });

  it("requires authentication", async () => {
    expectProblem(await call("GET", "/v1/me"), 401, "unauthenticated");
  });

  it("accepts the access cookie, but not for cross-site writes", async () => {
    const user = await signup();
    const cookie = { cookie: `sparki_access=${user.accessToken}` };
    const me = await call("GET", "/v1/me", { headers: cookie });
    expect(me.status).toBe(200);
    const sameSite = await call("POST", "/v1/workspaces", { body: { name: "Cookie Co" }, headers: { ...cookie, origin: "http://sparki.test" } });
    expect(sameSite.status).toBe(201);
    const crossSite = await call("POST", "/v1/workspaces", { body: { name: "Evil Co" }, headers: { ...cookie, origin: "https://evil.example" } });
    expectProblem(crossSite, 403, "forbidden");
  });
});

describe("refresh tokens", () => {
  it("rotates: the new token works, the old one no longer does", async () => {
    const user = await signup();
    const first = await call("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(user.refreshToken);
    const me = await call("GET", "/v1/me", { token: first.body.accessToken });
    expect(me.status).toBe(200);
    const second = await call("POST", "/v1/auth/refresh", { body: { refreshToken: first.body.refreshToken } });
    expect(second.status).toBe(200);
  });

  it("revokes the whole family when a rotated token is reused", async () => {
    const user = await signup();
    const rotated = await call("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expect(rotated.status).toBe(200);
    const replay = await call("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expectProblem(replay, 401, "invalid_token");
    expect(replay.body.detail).toMatch(/already used/);
    // The legitimate descendant dies with the family.
    const descendant = await call("POST", "/v1/auth/refresh", { body: { refreshToken: rotated.body.refreshToken } });
    expectProblem(descendant, 401, "invalid_token");
    // Another login's family is untouched.
    const other = await call("POST", "/v1/auth/login", { body: { email: user.email, password: user.password } });
    const otherRefresh = await call("POST", "/v1/auth/refresh", { body: { refreshToken: other.body.refreshToken } });
    expect(otherRefresh.status).toBe(200);
  });

  it("reads the refresh token from its cookie", async () => {
    const user = await signup();
    const res = await call("POST", "/v1/auth/refresh", { headers: { cookie: `sparki_refresh=${user.refreshToken}` } });
    expect(res.status).toBe(200);
  });

  it("refuses unknown and missing tokens", async () => {
    expectProblem(await call("POST", "/v1/auth/refresh", { body: { refreshToken: "srt_nope" } }), 401, "invalid_token");
    expectProblem(await call("POST", "/v1/auth/refresh"), 401, "unauthenticated");
  });
});

describe("logout", () => {
  it("revokes the refresh family and the access token presented", async () => {
    const user = await signup();
    const out = await call("POST", "/v1/auth/logout", { token: user.accessToken, body: { refreshToken: user.refreshToken } });
    expect(out.status).toBe(204);
    expect(setCookies(out.headers).some((c) => c.startsWith("sparki_access=;"))).toBe(true);
    expectProblem(await call("GET", "/v1/me", { token: user.accessToken }), 401, "invalid_token");
    expectProblem(await call("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } }), 401, "invalid_token");
  });
});

describe("account deletion", () => {
  it("needs the password, then makes every token of the user useless", async () => {
    const user = await signup();
    const apiToken = await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "ci" } });
    expectProblem(await call("DELETE", "/v1/me", { token: user.accessToken, body: { password: "wrong password" } }), 401);
    const del = await call("DELETE", "/v1/me", { token: user.accessToken, body: { password: user.password } });
    expect(del.status).toBe(204);
    expectProblem(await call("GET", "/v1/me", { token: user.accessToken }), 401, "invalid_token");
    expectProblem(await call("GET", "/v1/me", { token: apiToken.body.token }), 401, "invalid_token");
    expectProblem(await call("POST", "/v1/auth/login", { body: { email: user.email, password: user.password } }), 401);
  });
});
