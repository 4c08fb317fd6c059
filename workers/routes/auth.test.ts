import { describe, expect, it, vi } from "vitest";
import { loginLimits } from "../auth/login-limits.js";
import { type ApiResponse, call, expectProblem, login, signup, testIp, uniqueEmail } from "../testing/api.js";

/** The Set-Cookie headers of a response (workerd joins them with ", "). */
function setCookies(headers: Headers): string[] {
  return (headers.get("set-cookie") ?? "").split(/, (?=__Host-)/).filter((c) => c !== "");
}
const cookieValue = (headers: Headers, name: string) =>
  setCookies(headers)
    .find((c) => c.startsWith(`${name}=`))
    ?.split(";")[0]
    ?.slice(name.length + 1);
const own = "http://sparki.test";

describe("signup", () => {
  it("answers 202 with no tokens and no cookie, the same for a new and a registered email", async () => {
    const email = uniqueEmail("Signup").toUpperCase();
    const first = await call("POST", "/v1/auth/signup", { body: { email, password: "a long password", name: "Ada" } });
    const again = await call("POST", "/v1/auth/signup", { body: { email, password: "another long password", name: "Eve" } });
    for (const res of [first, again]) {
      expect(res.status, res.text).toBe(202);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(res.text).not.toMatch(/accessToken|refreshToken|srt_/);
    }
    expect(again.text).toBe(first.text);
    // The account is the first one: its password logs in, the second signup's does not.
    expect((await login(email.toLowerCase(), "a long password")).user).toMatchObject({ email: email.toLowerCase(), name: "Ada" });
    expectProblem(await call("POST", "/v1/auth/login", { body: { email, password: "another long password" } }), 401, "invalid_credentials");
  });

  it("refuses short and common passwords", async () => {
    const short = await call("POST", "/v1/auth/signup", { body: { email: uniqueEmail(), password: "nine char", name: "x" } });
    expectProblem(short, 400, "validation");
    expect(short.body.errors[0].message).toMatch(/at least 10 characters/);
    const common = await call("POST", "/v1/auth/signup", { body: { email: uniqueEmail(), password: "Password123", name: "x" } });
    expectProblem(common, 400, "validation");
    expect(common.body.errors[0].message).toMatch(/common passwords/);
  });
});

describe("login", () => {
  it("returns the tokens and sets no cookie for a token session", async () => {
    const user = await signup();
    const res = await call("POST", "/v1/auth/login", { body: { email: user.email, password: user.password } });
    expect(res.status).toBe(200);
    expect(res.body.accessToken.split(".")).toHaveLength(3);
    expect(res.body.refreshToken).toMatch(/^srt_/);
    expect(res.body.expiresIn).toBe(900);
    expect(res.body.user).not.toHaveProperty("passwordHash");
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("keeps a cookie session's tokens in __Host- cookies and out of the body", async () => {
    const user = await signup();
    const res = await call("POST", "/v1/auth/login", { body: { email: user.email, password: user.password, session: "cookie" }, headers: { origin: own } });
    expect(res.status, res.text).toBe(200);
    expect(res.body).not.toHaveProperty("accessToken");
    expect(res.body).not.toHaveProperty("refreshToken");
    const cookies = setCookies(res.headers);
    expect(cookies.map((c) => c.split("=")[0]).sort()).toEqual(["__Host-sparki_access", "__Host-sparki_refresh"]);
    for (const cookie of cookies) {
      expect(cookie).toMatch(/; Path=\/(;|$)/);
      expect(cookie).toMatch(/; HttpOnly/);
      expect(cookie).toMatch(/; Secure/);
      expect(cookie).toMatch(/; SameSite=Strict/);
      expect(cookie).not.toMatch(/Domain=/i);
    }
  });

  it("refuses a cookie login from another origin (login CSRF)", async () => {
    const user = await signup();
    const res = await call("POST", "/v1/auth/login", {
      body: { email: user.email, password: user.password, session: "cookie" },
      headers: { origin: "http://sparki.test:8788" },
    });
    expectProblem(res, 403, "forbidden");
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("logs in with the right password only, and says the same for an unknown email", async () => {
    const user = await signup();
    const wrong = await call("POST", "/v1/auth/login", { body: { email: user.email, password: "not the password" } });
    expectProblem(wrong, 401, "invalid_credentials");
    const nobody = await call("POST", "/v1/auth/login", { body: { email: uniqueEmail("ghost"), password: "whatever1" } });
    expectProblem(nobody, 401, "invalid_credentials");
    expect(nobody.body.detail).toBe(wrong.body.detail);
  });

  it("limits failures per (email, IP) without locking the owner out from their own IP", async () => {
    const user = await signup();
    const attacker = testIp();
    const statuses: number[] = [];
    let last: ApiResponse | undefined;
    for (let i = 0; i < 12; i++) {
      last = await call("POST", "/v1/auth/login", { body: { email: user.email, password: "wrong password" }, headers: { "cf-connecting-ip": attacker } });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    expectProblem(last!, 429, "rate_limited");
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    // Even the right password is refused from the attacker's IP while the limit holds...
    expect(
      (await call("POST", "/v1/auth/login", { body: { email: user.email, password: user.password }, headers: { "cf-connecting-ip": attacker } })).status,
    ).toBe(429);
    // ...while the owner logs in from theirs.
    await login(user.email, user.password, testIp());
  });

  it("limits attempts per IP across emails", async () => {
    const ip = testIp();
    const statuses: number[] = [];
    // The limit counts in fixed 900 s windows, and 102 logins on a loaded machine take long
    // enough to straddle a window's end now and then (CI once counted 102 as allowed). The
    // Worker runs in this isolate: its clock stands still just after a window's start.
    const windowMs = loginLimits.perIp.windowSeconds * 1000;
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Math.ceil(Date.now() / windowMs) * windowMs + 1000);
      for (let i = 0; i < 102; i++) {
        const res = await call("POST", "/v1/auth/login", { body: { email: uniqueEmail("spray"), password: "guess1234" }, headers: { "cf-connecting-ip": ip } });
        statuses.push(res.status);
      }
    } finally {
      vi.useRealTimers();
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(100);
    expect(statuses.slice(100)).toEqual([429, 429]);
  });
});

describe("me", () => {
  it("shows the caller and their workspaces with roles", async () => {
    const user = await signup();
    const empty = await call("GET", "/v1/me", { token: user.accessToken });
    expect(empty.body).toEqual({ user: { id: user.id, email: user.email, name: "user", createdAt: expect.any(String) }, workspaces: [] });
    const ws = await call("POST", "/v1/workspaces", { token: user.accessToken, body: { name: "Me Corp" } });
    const me = await call("GET", "/v1/me", { token: user.accessToken });
    expect(me.body.workspaces).toEqual([{ id: ws.body.id, name: "Me Corp", slug: ws.body.slug, role: "owner" }]);
  });

  it("requires authentication", async () => {
    expectProblem(await call("GET", "/v1/me"), 401, "unauthenticated");
  });

  it("accepts the access cookie for writes from the dashboard's own origin only", async () => {
    const user = await signup();
    const cookie = { cookie: `__Host-sparki_access=${user.accessToken}` };
    expect((await call("GET", "/v1/me", { headers: cookie })).status).toBe(200);
    const own_ = await call("POST", "/v1/workspaces", { body: { name: "Cookie Co" }, headers: { ...cookie, origin: own, "sec-fetch-site": "same-origin" } });
    expect(own_.status, own_.text).toBe(201);
    const foreign: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "http://sparki.test:8788" }, // same host, another port: where a local stack serves sites
      { origin: "http://site.sparki.test" },
      { origin: "null" },
      {}, // browsers always send Origin on writes; a request without one did not come from the dashboard
      { origin: own, "sec-fetch-site": "same-site" },
    ];
    for (const headers of foreign) {
      expectProblem(await call("POST", "/v1/workspaces", { body: { name: "Evil Co" }, headers: { ...cookie, ...headers } }), 403, "forbidden");
    }
    // A WebSocket upgrade with the cookie is a read that CORS does not guard.
    expectProblem(await call("GET", "/v1/me", { headers: { ...cookie, upgrade: "websocket", origin: "https://evil.example" } }), 403, "forbidden");
    // The old cookie name means nothing any more.
    expectProblem(await call("GET", "/v1/me", { headers: { cookie: `sparki_access=${user.accessToken}` } }), 401, "unauthenticated");
  });
});

describe("refresh tokens", () => {
  it("rotates: the new token works, the old one no longer does", async () => {
    const user = await signup();
    const first = await call("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(user.refreshToken);
    expect(first.headers.get("set-cookie")).toBeNull();
    expect((await call("GET", "/v1/me", { token: first.body.accessToken })).status).toBe(200);
    expect((await call("POST", "/v1/auth/refresh", { body: { refreshToken: first.body.refreshToken } })).status).toBe(200);
  });

  it("revokes the whole family when a rotated token is reused", async () => {
    const user = await signup();
    const rotated = await call("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expect(rotated.status).toBe(200);
    const replay = await call("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } });
    expectProblem(replay, 401, "invalid_token");
    expect(replay.body.detail).toMatch(/already used/);
    expectProblem(await call("POST", "/v1/auth/refresh", { body: { refreshToken: rotated.body.refreshToken } }), 401, "invalid_token");
    const other = await login(user.email, user.password);
    expect((await call("POST", "/v1/auth/refresh", { body: { refreshToken: other.refreshToken } })).status).toBe(200);
  });

  it("answers a cookie refresh with new cookies and no token in the body, from the dashboard only", async () => {
    const user = await signup();
    const cookie = `__Host-sparki_refresh=${user.refreshToken}`;
    expectProblem(await call("POST", "/v1/auth/refresh", { headers: { cookie, origin: "http://sparki.test:8788" } }), 403, "forbidden");
    const res = await call("POST", "/v1/auth/refresh", { headers: { cookie, origin: own } });
    expect(res.status, res.text).toBe(200);
    expect(res.text).not.toMatch(/srt_|accessToken|refreshToken/);
    const access = cookieValue(res.headers, "__Host-sparki_access");
    expect(access?.split(".")).toHaveLength(3);
    expect(cookieValue(res.headers, "__Host-sparki_refresh")).toMatch(/^srt_/);
    expect((await call("GET", "/v1/me", { token: access })).status).toBe(200);
  });

  it("refuses unknown and missing tokens", async () => {
    expectProblem(await call("POST", "/v1/auth/refresh", { body: { refreshToken: "srt_nope" } }), 401, "invalid_token");
    expectProblem(await call("POST", "/v1/auth/refresh"), 401, "unauthenticated");
  });
});

describe("logout", () => {
  it("revokes the refresh family and the bearer access token", async () => {
    const user = await signup();
    const out = await call("POST", "/v1/auth/logout", { token: user.accessToken, body: { refreshToken: user.refreshToken } });
    expect(out.status).toBe(204);
    expectProblem(await call("GET", "/v1/me", { token: user.accessToken }), 401, "invalid_token");
    expectProblem(await call("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } }), 401, "invalid_token");
  });

  it("with cookies, ends the access token too and clears both cookies", async () => {
    const user = await signup();
    const cookie = `__Host-sparki_access=${user.accessToken}; __Host-sparki_refresh=${user.refreshToken}`;
    expectProblem(await call("POST", "/v1/auth/logout", { headers: { cookie, origin: "https://evil.example" } }), 403, "forbidden");
    const out = await call("POST", "/v1/auth/logout", { headers: { cookie, origin: own } });
    expect(out.status).toBe(204);
    expect(
      setCookies(out.headers)
        .map((c) => c.split(";")[0])
        .sort(),
    ).toEqual(["__Host-sparki_access=", "__Host-sparki_refresh="]);
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
