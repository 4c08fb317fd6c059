import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../index.js";
import { call, expectProblem } from "../testing/api.js";

function withEnv(overrides: Partial<typeof env>) {
  return async (path: string, init?: RequestInit) => {
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    return worker.fetch(new Request(`http://sparki.test${path}`, init), { ...env, ...overrides }, ctx);
  };
}

describe("health", () => {
  it("reports database and cache reachability", async () => {
    const res = await call("GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "ok", checks: { database: { ok: true }, cache: { ok: true } } });
  });

  it("reports a dead database as degraded with 503", async () => {
    const fetch = withEnv({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" });
    const res = await fetch("/healthz");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { database: { ok: boolean }; cache: { ok: boolean } } };
    expect(body.checks.database.ok).toBe(false);
    expect(body.checks.cache.ok).toBe(true);
  });

  it("answers 503 problem+json when Postgres is unreachable", async () => {
    const fetch = withEnv({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" });
    const res = await fetch("/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "a@example.test", password: "whatever1" }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.headers.get("retry-after")).toBe("5");
    const body = (await res.json()) as { type: string };
    expect(body.type).toBe("https://sparki.dev/problems/database-unavailable");
  });

  it("keeps serving when the cache is down (the cache is never the only copy)", async () => {
    const fetch = withEnv({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" });
    const email = `nocache-${crypto.randomUUID()}@example.test`;
    const res = await fetch("/v1/auth/signup", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "a long password", name: "n" }),
    });
    expect(res.status).toBe(202);
    // The login limiter fails open without its cache.
    const login = await fetch("/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "a long password" }),
    });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const me = await fetch("/v1/me", { headers: { authorization: `Bearer ${accessToken}` } });
    expect(me.status).toBe(200);
  });
});

describe("openapi", () => {
  it("serves a document generated from the route schemas", async () => {
    const res = await SELF.fetch("http://sparki.test/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/v1/auth/signup",
      "/v1/auth/login",
      "/v1/auth/refresh",
      "/v1/auth/logout",
      "/v1/me",
      "/v1/me/password",
      "/v1/me/sessions",
      "/v1/tokens",
      "/v1/tokens/{id}",
      "/v1/workspaces",
      "/v1/workspaces/{id}",
      "/v1/workspaces/{id}/members",
      "/v1/workspaces/{id}/members/{userId}",
      "/v1/workspaces/{id}/projects",
      "/v1/projects/{id}",
      "/v1/workspaces/{id}/audit-logs",
      "/healthz",
    ]) {
      expect(doc.paths, path).toHaveProperty([path]);
    }
    expect(Object.keys(doc.paths["/v1/projects/{id}"] ?? {}).sort()).toEqual(["delete", "get", "patch"]);
    expect(doc.components.schemas).toHaveProperty("Problem");
    expect(doc.components.schemas).toHaveProperty("Project");
  });

  it("is not confused with an unknown route", async () => {
    expectProblem(await call("GET", "/v1/openapi.yaml"), 404);
  });
});
