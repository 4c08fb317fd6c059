/**
 * "Sign in with GitHub" against the fake: the browser's round trip to the authorize page, the code
 * exchange with PKCE, and what the user token then reads (profile, verified emails, installations).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGitHub } from "../../../test/fakes/github.ts";
import { GitHubClient } from "./api.ts";
import { authorizeUrl, createPkce, exchangeCode, OAuthError, pkceChallenge, webUrlFor } from "./oauth.ts";

const gh = new FakeGitHub();
const CALLBACK = "http://sparki.test/v1/auth/github/callback";
let app: ReturnType<FakeGitHub["addApp"]>;
let oauth: { clientId: string; clientSecret: string; webUrl: string };

beforeAll(async () => {
  await gh.start();
  app = gh.addApp({ callbackUrls: [CALLBACK] });
  oauth = { clientId: app.clientId, clientSecret: app.clientSecret, webUrl: webUrlFor(gh.apiUrl) };
  gh.addUser("mona", {
    name: "Mona",
    emails: [
      { email: "mona@example.com", primary: true, verified: true, visibility: "public" },
      { email: "mona@unverified.example", primary: false, verified: false, visibility: null },
    ],
  });
  gh.addOrg("acme", ["mona"]);
  gh.addOrg("elsewhere", []);
  gh.install(app, "acme");
  gh.install(app, "elsewhere");
  gh.install(gh.addApp(), "acme");
  gh.browserUser = "mona";
});
afterAll(() => gh.close());

/** Follows the authorize URL as a browser would, up to the redirect back to Sparki. */
async function authorize(state: string, challenge: string, redirectUri = CALLBACK): Promise<URL> {
  const res = await fetch(authorizeUrl(oauth, { redirectUri, state, codeChallenge: challenge }), { redirect: "manual" });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location") ?? "");
}

async function oauthError(p: Promise<unknown>): Promise<OAuthError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OAuthError);
  return err as OAuthError;
}

describe("the OAuth web flow", () => {
  it("derives the web host from the API URL", () => {
    expect(webUrlFor()).toBe("https://github.com");
    expect(webUrlFor("https://api.github.com/")).toBe("https://github.com");
    expect(webUrlFor("https://ghe.example.com/api/v3")).toBe("https://ghe.example.com");
    expect(webUrlFor(gh.apiUrl)).toBe(gh.webUrl);
  });

  it("code + state back, the code exchanged with its PKCE verifier, then the user and only verified emails", async () => {
    const pkce = await createPkce();
    expect(pkce.verifier).toMatch(/^[\w-]{43}$/);
    expect(await pkceChallenge(pkce.verifier)).toBe(pkce.challenge);
    const back = await authorize("st4te", pkce.challenge);
    expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
    expect(back.searchParams.get("state")).toBe("st4te");
    const code = back.searchParams.get("code") ?? "";
    const token = await exchangeCode(oauth, { code, redirectUri: CALLBACK, codeVerifier: pkce.verifier });
    expect(token.access_token).toMatch(/^ghu_/);
    expect(token.expires_in).toBe(28800);
    const user = new GitHubClient(token.access_token, { apiUrl: gh.apiUrl });
    await expect(user.getUser()).resolves.toMatchObject({ login: "mona", name: "Mona" });
    const emails = await user.listUserEmails();
    expect(emails.filter((e) => e.verified).map((e) => e.email)).toEqual(["mona@example.com"]);
    // Installations of this app on accounts mona belongs to: acme, not elsewhere, not the other app's.
    const installations = await user.listUserInstallations();
    expect(installations.map((i) => i.account?.login)).toEqual(["acme"]);
    expect(installations[0]?.app_id).toBe(app.id);
    // A code works once.
    expect((await oauthError(exchangeCode(oauth, { code, redirectUri: CALLBACK, codeVerifier: pkce.verifier }))).code).toBe("bad_verification_code");
  });

  it("refuses a wrong verifier, a wrong secret and another redirect URI", async () => {
    const pkce = await createPkce();
    const code = (await authorize("s", pkce.challenge)).searchParams.get("code") ?? "";
    const other = await createPkce();
    expect((await oauthError(exchangeCode(oauth, { code, redirectUri: CALLBACK, codeVerifier: other.verifier }))).code).toBe("bad_verification_code");
    expect((await oauthError(exchangeCode({ ...oauth, clientSecret: "nope" }, { code, redirectUri: CALLBACK, codeVerifier: pkce.verifier }))).code).toBe(
      "incorrect_client_credentials",
    );
    expect((await oauthError(exchangeCode(oauth, { code, redirectUri: `${CALLBACK}/other`, codeVerifier: pkce.verifier }))).code).toBe("redirect_uri_mismatch");
    // Refusals burn nothing: the right request still works.
    await expect(exchangeCode(oauth, { code, redirectUri: CALLBACK, codeVerifier: pkce.verifier })).resolves.toMatchObject({ token_type: "bearer" });
  });

  it("sends the browser back with an error for a foreign redirect URI or a denial", async () => {
    const pkce = await createPkce();
    const foreign = await authorize("s1", pkce.challenge, "http://evil.test/steal");
    expect(foreign.origin).toBe("http://sparki.test");
    expect(foreign.searchParams.get("error")).toBe("redirect_uri_mismatch");
    expect(foreign.searchParams.get("code")).toBeNull();
    gh.denyAuthorization = true;
    const denied = await authorize("s2", pkce.challenge);
    expect(denied.searchParams.get("error")).toBe("access_denied");
    expect(denied.searchParams.get("state")).toBe("s2");
  });

  it("an unreachable GitHub is an OAuthError too", async () => {
    const err = await oauthError(exchangeCode({ ...oauth, webUrl: "http://127.0.0.1:9" }, { code: "c", redirectUri: CALLBACK, codeVerifier: "v" }));
    expect(err.code).toBe("unreachable");
  });
});
