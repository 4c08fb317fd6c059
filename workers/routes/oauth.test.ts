/**
 * Sign in with GitHub or GitLab in workerd: GitHub is configured (its hosts unreachable, so a code
 * exchange fails like a refused one), GitLab is not. The whole login against the GitHub fake is
 * test/e2e/oauth.test.ts; the attacks are test/security/oauth.workers.test.ts.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectProblem, signup } from "../testing/api.js";

const start = (path: string) => SELF.fetch(`http://sparki.test${path}`, { redirect: "manual" });

describe("GET /v1/auth/providers", () => {
  it("lists the configured providers only", async () => {
    const res = await call("GET", "/v1/auth/providers");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ password: true, oauth: ["github"] });
  });
});

describe("GET /v1/auth/oauth/{provider}/start", () => {
  it("redirects to GitHub with the client id, the callback URL, a state and an S256 challenge, and binds the flow to this browser", async () => {
    const res = await start("/v1/auth/oauth/github/start?returnTo=%2Fw%2Fabc%2Fprojects");
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get("location") ?? "");
    expect(`${to.origin}${to.pathname}`).toBe("http://127.0.0.1:9/login/oauth/authorize");
    expect(to.searchParams.get("client_id")).toBe("Iv1.test-client-id");
    expect(to.searchParams.get("redirect_uri")).toBe("http://sparki.test/v1/auth/oauth/github/callback");
    expect(to.searchParams.get("state")).toMatch(/^[\w-]{43}$/);
    expect(to.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^__Host-sparki_oauth=[\w-]{43}; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
  });

  it("makes a new state each time", async () => {
    const states = await Promise.all(
      [1, 2].map(async () => new URL((await start("/v1/auth/oauth/github/start")).headers.get("location") ?? "").searchParams.get("state")),
    );
    expect(states[0]).not.toBe(states[1]);
  });

  it("answers 404 for a provider that is not configured, and 400 for one that does not exist", async () => {
    expectProblem(await call("GET", "/v1/auth/oauth/gitlab/start"), 404, "not_found");
    expectProblem(await call("GET", "/v1/auth/oauth/bitbucket/start"), 400, "validation");
  });
});

describe("GET /v1/auth/oauth/link", () => {
  it("answers 404 when nothing waits to be linked", async () => {
    expectProblem(await call("GET", "/v1/auth/oauth/link"), 404, "not_found");
  });
});

describe("/v1/me/identities", () => {
  it("lists none for a password account, and unlinking one it does not have is a 404", async () => {
    const user = await signup("identities");
    const res = await call("GET", "/v1/me/identities", { token: user.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], hasPassword: true });
    expectProblem(await call("DELETE", "/v1/me/identities/github", { token: user.accessToken }), 404, "not_found");
    expectProblem(await call("GET", "/v1/me/identities"), 401);
  });
});
