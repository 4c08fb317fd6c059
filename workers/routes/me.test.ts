import { describe, expect, it } from "vitest";
import { call, expectProblem, login, signup } from "../testing/api.js";

describe("password change", () => {
  it("needs the current password and a strong new one", async () => {
    const user = await signup();
    expectProblem(
      await call("POST", "/v1/me/password", { token: user.accessToken, body: { currentPassword: "not it at all", newPassword: "a brand new password" } }),
      401,
      "invalid_credentials",
    );
    const weak = await call("POST", "/v1/me/password", { token: user.accessToken, body: { currentPassword: user.password, newPassword: "qwertyuiop" } });
    expectProblem(weak, 400, "validation");
    expect(weak.body.errors).toEqual([{ pointer: "json.newPassword", message: expect.stringMatching(/common passwords/) }]);
    // Nothing changed: the session still works.
    expect((await call("GET", "/v1/me", { token: user.accessToken })).status).toBe(200);
  });

  it("ends every session and refresh family; only the new password logs in", async () => {
    const user = await signup();
    const other = await login(user.email, user.password);
    const apiToken = await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "ci" } });
    const changed = await call("POST", "/v1/me/password", {
      token: user.accessToken,
      body: { currentPassword: user.password, newPassword: "a brand new password" },
    });
    expect(changed.status, changed.text).toBe(204);
    for (const token of [user.accessToken, other.accessToken]) {
      const res = await call("GET", "/v1/me", { token });
      expectProblem(res, 401, "invalid_token");
      expect(res.body.detail).toMatch(/log in again/);
    }
    for (const refreshToken of [user.refreshToken, other.refreshToken]) {
      expectProblem(await call("POST", "/v1/auth/refresh", { body: { refreshToken } }), 401, "invalid_token");
    }
    expectProblem(await call("POST", "/v1/auth/login", { body: { email: user.email, password: user.password } }), 401, "invalid_credentials");
    const fresh = await login(user.email, "a brand new password");
    expect((await call("GET", "/v1/me", { token: fresh.accessToken })).status).toBe(200);
    expect((await call("POST", "/v1/auth/refresh", { body: { refreshToken: fresh.refreshToken } })).status).toBe(200);
    // API tokens are not sessions: they stay until deleted.
    expect((await call("GET", "/v1/me", { token: apiToken.body.token })).status).toBe(200);
  });
});

describe("log out everywhere", () => {
  it("ends every access token and refresh family of the account, and a new login works", async () => {
    const user = await signup();
    const other = await login(user.email, user.password);
    const out = await call("DELETE", "/v1/me/sessions", { token: other.accessToken });
    expect(out.status, out.text).toBe(204);
    for (const token of [user.accessToken, other.accessToken]) expectProblem(await call("GET", "/v1/me", { token }), 401, "invalid_token");
    for (const refreshToken of [user.refreshToken, other.refreshToken]) {
      expectProblem(await call("POST", "/v1/auth/refresh", { body: { refreshToken } }), 401, "invalid_token");
    }
    const again = await login(user.email, user.password);
    expect((await call("GET", "/v1/me", { token: again.accessToken })).status).toBe(200);
  });

  it("is refused to API tokens below the admin scope", async () => {
    const user = await signup();
    const write = await call("POST", "/v1/tokens", { token: user.accessToken, body: { name: "ci", scope: "write" } });
    expectProblem(await call("DELETE", "/v1/me/sessions", { token: write.body.token }), 403, "forbidden");
    expectProblem(
      await call("POST", "/v1/me/password", { token: write.body.token, body: { currentPassword: user.password, newPassword: "a brand new password" } }),
      403,
      "forbidden",
    );
    expect((await call("GET", "/v1/me", { token: user.accessToken })).status).toBe(200);
  });
});
