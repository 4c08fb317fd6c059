/**
 * Attacks on accounts, on the real local stack (wrangler dev, Postgres, the cache): locking an
 * owner out with wrong passwords, widening a read token, surviving a password change with old
 * tokens, probing signup for registered emails, and a cookie write from another origin. The
 * client IP is CF-Connecting-IP, which each request here sets as an attacker's or owner's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E } from "../e2e/support.js";

const e2e = new E2E();
const password = "the owner's long password";

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; ip?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(`${e2e.stack.apiUrl}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.ip ? { "cf-connecting-ip": options.ip } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

const login = (email: string, pass: string, ip: string) => call("POST", "/v1/auth/login", { body: { email, password: pass }, ip });
let n = 0;
const newEmail = (tag: string) => `${tag}-${Date.now()}-${++n}@sparki.test`;
const ipOf = (block: number, host: number) => `198.51.${block}.${host}`;

async function owner(tag: string): Promise<{ email: string; accessToken: string; refreshToken: string }> {
  const email = newEmail(tag);
  expect((await call("POST", "/v1/auth/signup", { body: { email, password, name: tag } })).status).toBe(202);
  const session = await login(email, password, "203.0.113.7");
  expect(session.status, session.text).toBe(200);
  return { email, accessToken: session.body.accessToken, refreshToken: session.body.refreshToken };
}

beforeAll(async () => {
  await e2e.start();
}, 240_000);

afterAll(async () => {
  await e2e.close();
}, 60_000);

describe("failed logins slow the attacker, not the owner", () => {
  it("a stranger hammering the owner's email is stopped while the owner still logs in", async () => {
    const victim = await owner("victim");
    // One attacker IP: stopped after 10 wrong passwords for this email.
    const attacker = ipOf(1, 1);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await login(victim.email, `guess number ${i}`, attacker)).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    // Even the right password from the attacker's IP is refused now...
    expect((await login(victim.email, password, attacker)).status).toBe(429);
    // ...while the owner logs in from their usual IP.
    expect((await login(victim.email, password, "203.0.113.7")).status).toBe(200);

    // A campaign over many IPs exhausts the per-email limit: new IPs are refused for this email...
    let refusedFromFreshIp = false;
    for (let block = 2; block < 14 && !refusedFromFreshIp; block++) {
      for (let i = 0; i < 10; i++) {
        const res = await login(victim.email, `spread guess ${block}-${i}`, ipOf(block, i + 1));
        if (res.status === 429) refusedFromFreshIp = true;
        // 503: the local stack's embedded Postgres was too slow under a loaded machine; the
        // attempt was still counted (the limiter runs before the database), which is all this
        // loop needs. Anything else is a failure.
        else expect([401, 503], res.text).toContain(res.status);
      }
    }
    expect(refusedFromFreshIp).toBe(true);
    expect((await login(victim.email, password, ipOf(99, 99))).status).toBe(429);
    // ...but not the owner's IP, where this email logged in before.
    const mine = await login(victim.email, password, "203.0.113.7");
    expect(mine.status, mine.text).toBe(200);
  }, 120_000);
});

describe("API token scopes", () => {
  it("a read token cannot write, and cannot mint a write (or any) token", async () => {
    const user = await owner("scoped");
    const ws = await call("POST", "/v1/workspaces", { token: user.accessToken, body: { name: "Scoped" } });
    expect(ws.status).toBe(201);
    const read = await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "dashboard reader", scope: "read" } });
    expect(read.body.scope).toBe("read");
    const token = read.body.token as string;
    expect((await call("GET", `/v1/workspaces/${ws.body.id}`, { token })).status).toBe(200);
    expect((await call("POST", `/v1/workspaces/${ws.body.id}/projects`, { token, body: { name: "x", gitUrl: "https://github.com/acme/x.git" } })).status).toBe(
      403,
    );
    expect((await call("PATCH", `/v1/workspaces/${ws.body.id}`, { token, body: { name: "Taken" } })).status).toBe(403);
    for (const scope of ["write", "admin", "read", undefined]) {
      expect((await call("POST", "/v1/tokens", { token, body: { name: "escalate", ...(scope ? { scope } : {}) } })).status).toBe(403);
    }
    const list = await call("GET", "/v1/tokens", { token: user.accessToken });
    expect(list.body.items.map((t: { scope: string }) => t.scope)).toEqual(["read"]);
  });
});

describe("password change", () => {
  it("ends the old access and refresh tokens", async () => {
    const user = await owner("changer");
    const changed = await call("POST", "/v1/me/password", {
      token: user.accessToken,
      body: { currentPassword: password, newPassword: "a fresh long password" },
    });
    expect(changed.status, changed.text).toBe(204);
    expect((await call("GET", "/v1/me", { token: user.accessToken })).status).toBe(401);
    expect((await call("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } })).status).toBe(401);
    expect((await login(user.email, password, "203.0.113.7")).status).toBe(401);
    expect((await login(user.email, "a fresh long password", "203.0.113.7")).status).toBe(200);
  });
});

describe("signup", () => {
  it("answers a registered email exactly as a new one", async () => {
    const user = await owner("known");
    const taken = await call("POST", "/v1/auth/signup", { body: { email: user.email, password: "someone else's password", name: "x" } });
    const fresh = await call("POST", "/v1/auth/signup", { body: { email: newEmail("fresh"), password: "someone else's password", name: "x" } });
    expect(taken.status).toBe(fresh.status);
    expect(taken.text).toBe(fresh.text);
    const shape = (a: Answer) => [a.headers.get("content-type"), a.headers.get("set-cookie"), a.headers.get("content-length")];
    expect(shape(taken)).toEqual(shape(fresh));
    // The owner's password is unchanged.
    expect((await login(user.email, password, "203.0.113.7")).status).toBe(200);
  });
});

describe("the session cookie", () => {
  it("is refused for writes from any origin but the dashboard's, the same host on another port included", async () => {
    const user = await owner("cookie");
    const api = new URL(e2e.stack.apiUrl);
    const cookie = `__Host-sparki_access=${user.accessToken}`;
    const otherPort = `${api.protocol}//${api.hostname}:${Number(api.port) + 1}`;
    for (const origin of [otherPort, `${api.protocol}//localhost:${api.port}`, "https://evil.example"]) {
      const res = await call("POST", "/v1/tokens", { headers: { cookie, origin }, body: { name: "stolen" } });
      expect(res.status, origin).toBe(403);
    }
    const own = await call("POST", "/v1/tokens", { headers: { cookie, origin: api.origin }, body: { name: "mine", scope: "read" } });
    expect(own.status, own.text).toBe(201);
  });
});
