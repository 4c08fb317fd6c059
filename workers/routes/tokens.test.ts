import { describe, expect, it } from "vitest";
import { call, expectProblem, signup } from "../testing/api.js";

describe("personal API tokens", () => {
  it("shows the token once, authenticates with it, lists without it, and revokes it", async () => {
    const user = await signup();
    const created = await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "laptop" } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^spk_[\w-]{43}$/);
    expect(created.body.prefix).toBe(created.body.token.slice(0, 12));

    const me = await call("GET", "/v1/me", { token: created.body.token });
    expect(me.body.user.id).toBe(user.id);

    const list = await call("GET", "/v1/tokens", { token: user.accessToken });
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ id: created.body.id, name: "laptop" });
    expect(list.body.items[0]).not.toHaveProperty("token");
    expect(list.text).not.toContain(created.body.token);
    expect(list.body.items[0].lastUsedAt).not.toBeNull();

    expect((await call("DELETE", `/v1/tokens/${created.body.id}`, { token: user.accessToken })).status).toBe(204);
    expectProblem(await call("GET", "/v1/me", { token: created.body.token }), 401, "invalid_token");
  });

  it("keeps tokens private to their owner", async () => {
    const alice = await signup("alice");
    const bob = await signup("bob");
    const created = await call("POST", "/v1/tokens", { token: alice.accessToken, body: { name: "alice's" } });
    expect((await call("GET", "/v1/tokens", { token: bob.accessToken })).body.items).toEqual([]);
    expectProblem(await call("DELETE", `/v1/tokens/${created.body.id}`, { token: bob.accessToken }), 404);
    expect((await call("GET", "/v1/me", { token: created.body.token })).status).toBe(200);
  });

  it("stops an expiring token at its expiry date", async () => {
    const user = await signup();
    const created = await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "short", expiresInDays: 1 } });
    expect(Date.parse(created.body.expiresAt) - Date.now()).toBeGreaterThan(86_000_000);
    expectProblem(await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "x", expiresInDays: 0 } }), 400);
  });
});
