/**
 * "Sign in with GitHub": the OAuth 2.0 web flow with PKCE (S256) and state, for the GitHub App's
 * client id and secret (`GITHUB_CLIENT_ID`, `GITHUB_CLIENT_SECRET`).
 *
 * The flow lives on the web host (github.com, or the GitHub Enterprise Server host), not the API
 * host: {@link webUrlFor} derives it from `GITHUB_API_URL`. Usage (server/sign-in/providers.ts):
 * 1. `const pkce = await createPkce()`; keep `pkce.verifier` and a random `state` server-side (a
 *    short-lived signed cookie), redirect to `authorizeUrl(app, { redirectUri, state, codeChallenge: pkce.challenge })`.
 * 2. On the callback, compare `state` first, then `exchangeCode(app, { code, redirectUri, codeVerifier })`.
 * 3. `new GitHubClient(token.access_token, ...)`: `getUser()`, `listUserEmails()` (trust only
 *    verified ones), `listUserInstallations()`.
 *
 * GitHub answers a failed exchange with HTTP 200 and `{error, error_description}`; that becomes an
 * {@link OAuthError}, as does any answer we cannot read. No retry: a code works once.
 */
import { z } from "zod";
import { DEFAULT_GITHUB_API_URL } from "./http.ts";

export interface OAuthApp {
  clientId: string;
  clientSecret: string;
  /** github.com or the GHES host; default from {@link webUrlFor}. */
  webUrl?: string;
}

/** The web host of an API URL: api.github.com → github.com, https://HOST/api/v3 → https://HOST. */
export function webUrlFor(apiUrl: string = DEFAULT_GITHUB_API_URL): string {
  const url = new URL(apiUrl);
  if (url.hostname === "api.github.com") return "https://github.com";
  return `${url.origin}${url.pathname.replace(/\/+$/, "").replace(/\/api\/v3$/, "")}`;
}

/** A failed exchange: GitHub's `error` code (bad_verification_code, incorrect_client_credentials, …). */
export class OAuthError extends Error {
  override readonly name = "OAuthError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

/** A PKCE verifier (43 characters of 32 random bytes) and its S256 challenge (RFC 7636). */
export async function createPkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  return { verifier, challenge: await pkceChallenge(verifier) };
}

export async function pkceChallenge(verifier: string): Promise<string> {
  return b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/** Where to send the browser. */
export function authorizeUrl(app: OAuthApp, o: { redirectUri: string; state: string; codeChallenge: string; scope?: string }): URL {
  const url = new URL(`${app.webUrl ?? webUrlFor()}/login/oauth/authorize`);
  url.searchParams.set("client_id", app.clientId);
  url.searchParams.set("redirect_uri", o.redirectUri);
  url.searchParams.set("state", o.state);
  url.searchParams.set("code_challenge", o.codeChallenge);
  url.searchParams.set("code_challenge_method", "S256");
  if (o.scope) url.searchParams.set("scope", o.scope);
  return url;
}

/** A user token; GitHub App user tokens expire (8 h) and come with a refresh token. */
export const UserToken = z.object({
  access_token: z.string().min(1),
  token_type: z.string(),
  scope: z.string().optional(),
  expires_in: z.number().optional(),
  refresh_token: z.string().optional(),
  refresh_token_expires_in: z.number().optional(),
});
export type UserToken = z.infer<typeof UserToken>;

const ErrorAnswer = z.object({ error: z.string(), error_description: z.string().optional() });

/** Trades the callback's code for a user token. */
export async function exchangeCode(
  app: OAuthApp,
  o: { code: string; redirectUri: string; codeVerifier: string },
  transport: { fetch?: typeof fetch; signal?: AbortSignal } = {},
): Promise<UserToken> {
  const body = new URLSearchParams({
    client_id: app.clientId,
    client_secret: app.clientSecret,
    code: o.code,
    redirect_uri: o.redirectUri,
    code_verifier: o.codeVerifier,
  });
  let res: Response;
  try {
    res = await (transport.fetch ?? fetch)(`${app.webUrl ?? webUrlFor()}/login/oauth/access_token`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded", "user-agent": "sparki" },
      body,
      signal: transport.signal ? AbortSignal.any([transport.signal, AbortSignal.timeout(20_000)]) : AbortSignal.timeout(20_000),
    });
  } catch (err) {
    throw new OAuthError("unreachable", `GitHub did not answer the code exchange: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = (await res.text()).slice(0, 64 * 1024);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new OAuthError("bad_answer", `GitHub's code exchange answered HTTP ${res.status} without JSON`);
  }
  const failed = ErrorAnswer.safeParse(json);
  if (failed.success) throw new OAuthError(failed.data.error, failed.data.error_description ?? failed.data.error);
  const token = UserToken.safeParse(json);
  if (!res.ok || !token.success) throw new OAuthError("bad_answer", `GitHub's code exchange answered HTTP ${res.status} without a token`);
  return token.data;
}
