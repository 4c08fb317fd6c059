import { SignJWT, UnsecuredJWT } from "jose";
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createWorkspace, expectProblem, signup } from "../testing/api.js";

const secret = new TextEncoder().encode(env.JWT_SECRET);

async function jwt(userId: string, opts: { exp?: number; key?: Uint8Array; iss?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(userId)
    .setIssuer(opts.iss ?? "sparki")
    .setAudience("sparki-api")
    .setJti(crypto.randomUUID())
    .setIssuedAt(now - 60)
    .setExpirationTime(opts.exp ?? now + 600)
    .sign(opts.key ?? secret);
}

describe("malformed requests", () => {
  it("answers malformed JSON with 400 malformed_json", async () => {
    const res = await call("POST", "/v1/auth/signup", { rawBody: '{"email": "a@b.c",' });
    expectProblem(res, 400, "malformed_json");
  });

  it("lists every invalid field with its pointer", async () => {
    const res = await call("POST", "/v1/auth/signup", { body: { email: "not-an-email", password: 12345678, name: "" } });
    expectProblem(res, 400, "validation");
    const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer).sort();
    expect(pointers).toEqual(["body.email", "body.name", "body.password"]);
  });

  it("refuses unknown fields", async () => {
    const res = await call("POST", "/v1/auth/signup", { body: { email: "x@example.test", password: "long enough password", name: "x", admin: true } });
    expectProblem(res, 400, "validation");
    expect(res.body.errors[0].message).toContain("admin");
  });

  it("refuses bodies over 1 MiB with 413", async () => {
    const user = await signup();
    const res = await call("POST", "/v1/workspaces", { token: user.accessToken, rawBody: JSON.stringify({ name: "x".repeat(1_100_000) }) });
    expectProblem(res, 413, "payload_too_large");
  });

  it("refuses bad path and query parameters", async () => {
    const user = await signup();
    expectProblem(await call("GET", "/v1/projects/not-a-uuid", { token: user.accessToken }), 400, "validation");
    const ws = await createWorkspace(user);
    const badLimit = await call("GET", `/v1/workspaces/${ws.id}/projects?limit=1000`, { token: user.accessToken });
    expectProblem(badLimit, 400, "validation");
    expect(badLimit.body.errors[0].pointer).toBe("query.limit");
    const badCursor = await call("GET", `/v1/workspaces/${ws.id}/projects?cursor=garbage`, { token: user.accessToken });
    expectProblem(badCursor, 400, "validation");
  });

  it("answers unknown routes with a 404 problem", async () => {
    expectProblem(await call("GET", "/v1/nothing-here"), 404, "not_found");
  });
});

describe("hostile tokens", () => {
  it("refuses alg none", async () => {
    const user = await signup();
    const token = new UnsecuredJWT({}).setSubject(user.id).setIssuer("sparki").setAudience("sparki-api").setJti("x").setExpirationTime("10m").encode();
    expectProblem(await call("GET", "/v1/me", { token }), 401, "invalid_token");
  });

  it("refuses expired tokens and says so", async () => {
    const user = await signup();
    const res = await call("GET", "/v1/me", { token: await jwt(user.id, { exp: Math.floor(Date.now() / 1000) - 10 }) });
    expectProblem(res, 401, "invalid_token");
    expect(res.body.detail).toMatch(/expired/);
  });

  it("refuses tokens signed with another key or issuer", async () => {
    const user = await signup();
    const other = new TextEncoder().encode("another-secret-that-is-also-32-chars-long");
    expectProblem(await call("GET", "/v1/me", { token: await jwt(user.id, { key: other }) }), 401, "invalid_token");
    expectProblem(await call("GET", "/v1/me", { token: await jwt(user.id, { iss: "evil" }) }), 401, "invalid_token");
  });

  it("accepts a well-formed token of ours (the control for the cases above)", async () => {
    const user = await signup();
    expect((await call("GET", "/v1/me", { token: await jwt(user.id) })).status).toBe(200);
  });

  it("refuses a valid token of a deleted user", async () => {
    const user = await signup();
    const second = await call("POST", "/v1/auth/login", { body: { email: user.email, password: user.password } });
    await call("DELETE", "/v1/me", { token: user.accessToken, body: { password: user.password } });
    const res = await call("GET", "/v1/me", { token: second.body.accessToken });
    expectProblem(res, 401, "invalid_token");
    expect(res.body.detail).toMatch(/no longer exists/);
  });

  it("refuses garbage in the Authorization header", async () => {
    expectProblem(await call("GET", "/v1/me", { headers: { authorization: "Basic abc" } }), 401, "invalid_token");
    expectProblem(await call("GET", "/v1/me", { token: "a.b.c" }), 401, "invalid_token");
    expectProblem(await call("GET", "/v1/me", { token: "spk_unknown" }), 401, "invalid_token");
  });
});

describe("request ids", () => {
  it("echoes an incoming X-Request-Id and puts it in problems", async () => {
    const res = await call("GET", "/v1/me", { headers: { "x-request-id": "trace-123" } });
    expect(res.headers.get("x-request-id")).toBe("trace-123");
    expect(res.body.instance).toBe("trace-123");
  });

  it("makes one when none (or an unsafe one) is sent", async () => {
    const res = await call("GET", "/v1/me", { headers: { "x-request-id": "bad id with spaces" } });
    expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f-]{36}$/);
  });
});
