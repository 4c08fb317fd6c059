/**
 * Sign in with GitLab against the fake over real HTTP: the authorization redirect with state and
 * an S256 challenge, the code exchange with its verifier, the user and which email is trusted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessLevel, FakeGitLab } from "../../../test/fakes/gitlab.ts";
import { GitLabClient, verifiedEmail } from "./api.ts";
import { GitLabApiError } from "./http.ts";
import { authorizationUrl, codeChallenge, exchangeCode, type OAuthApp, randomToken } from "./oauth.ts";

let gl: FakeGitLab;
let app: OAuthApp;
const redirectUri = "https://sparki.test/v1/auth/gitlab/callback";

beforeAll(async () => {
  gl = new FakeGitLab();
  await gl.start();
  const created = gl.addOAuthApp({ redirectUri, scopes: ["read_user"] });
  app = { clientId: created.clientId, clientSecret: created.secret, redirectUri };
});

afterAll(async () => {
  await gl.close();
});

/** The browser's trip: to GitLab's authorize page and back; the callback URL GitLab redirects to. */
async function authorize(state: string, codeVerifier: string): Promise<URL> {
  const res = await fetch(await authorizationUrl(gl.url, app, { state, codeVerifier }), { redirect: "manual" });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location") ?? "", gl.url);
}

const failure = async (p: Promise<unknown>): Promise<GitLabApiError> => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof GitLabApiError)) throw new Error(`expected a GitLabApiError, got ${String(err)}`);
  return err;
};

describe("the authorization code flow with PKCE", () => {
  it("redirects back with code and state, exchanges the code with its verifier, and reads the user", async () => {
    const jane = gl.addUser({ username: "jane", email: "jane@example.com" });
    gl.signedIn = jane;
    const state = randomToken();
    const verifier = randomToken();
    const back = await authorize(state, verifier);
    expect(back.origin + back.pathname).toBe(redirectUri);
    expect(back.searchParams.get("state")).toBe(state);
    const asked = new URL(`http://x${gl.requests.at(-1)?.path ?? ""}`).searchParams;
    expect(asked.get("code_challenge_method")).toBe("S256");
    expect(asked.get("code_challenge")).toBe(await codeChallenge(verifier));
    expect(asked.get("code_challenge")).not.toBe(verifier);

    const tokens = await exchangeCode({ baseUrl: gl.url }, app, { code: back.searchParams.get("code") ?? "", codeVerifier: verifier });
    expect(tokens).toMatchObject({ token_type: "Bearer", scope: "read_user", expires_in: 7200 });
    const user = await new GitLabClient(tokens.access_token, { baseUrl: gl.url }).currentUser();
    expect(user).toMatchObject({ id: jane.id, username: "jane", email: "jane@example.com" });
    expect(verifiedEmail(user)).toBe("jane@example.com");
  });

  it("the code works once, only with its verifier and with the app's secret", async () => {
    gl.signedIn = gl.addUser({ username: "joe" });
    const verifier = randomToken();
    const code = (await authorize("s", verifier)).searchParams.get("code") ?? "";
    const wrongVerifier = await failure(exchangeCode({ baseUrl: gl.url }, app, { code, codeVerifier: randomToken() }));
    expect(wrongVerifier).toMatchObject({ status: 400, details: { code: "invalid_grant" } });
    const wrongSecret = await failure(exchangeCode({ baseUrl: gl.url }, { ...app, clientSecret: "guess" }, { code, codeVerifier: verifier }));
    expect(wrongSecret).toMatchObject({ status: 401, details: { code: "invalid_client" } });
    await exchangeCode({ baseUrl: gl.url }, app, { code, codeVerifier: verifier });
    const reused = await failure(exchangeCode({ baseUrl: gl.url }, app, { code, codeVerifier: verifier }));
    expect(reused).toMatchObject({ status: 400, details: { code: "invalid_grant" } });
  });

  it("a refusal comes back as error=access_denied with the state; no session goes to sign-in", async () => {
    gl.denyNext = true;
    const back = await authorize("st4te", randomToken());
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("state")).toBe("st4te");
    expect(back.searchParams.get("code")).toBeNull();
    gl.signedIn = null;
    expect((await authorize("s", randomToken())).pathname).toBe("/users/sign_in");
  });
});

describe("what the user's token proves", () => {
  async function tokenOf(username: string, confirmed: boolean): Promise<GitLabClient> {
    gl.signedIn = gl.addUser({ username, confirmed });
    const verifier = randomToken();
    const code = (await authorize("s", verifier)).searchParams.get("code") ?? "";
    const { access_token } = await exchangeCode({ baseUrl: gl.url }, app, { code, codeVerifier: verifier });
    return new GitLabClient(access_token, { baseUrl: gl.url });
  }

  it("an unconfirmed email is not trusted", async () => {
    const user = await (await tokenOf("unconfirmed", false)).currentUser();
    expect(user.email).toBe("unconfirmed@example.com");
    expect(user.confirmed_at).toBeNull();
    expect(verifiedEmail(user)).toBeNull();
  });

  it("a sign-in token (read_user) reaches no project, not even one its user maintains", async () => {
    const project = await gl.addProject({ path: "acme/private" });
    const client = await tokenOf("reader", true);
    const reader = gl.users.find((u) => u.username === "reader");
    if (reader) gl.addMember(project, reader, AccessLevel.maintainer);
    const err = await failure(client.getProject(project.id));
    expect(err).toMatchObject({ status: 403, details: { code: "insufficient_scope" } });
  });
});
