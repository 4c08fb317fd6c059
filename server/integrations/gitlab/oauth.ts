/**
 * Sign in with GitLab: the OAuth 2.0 authorization code flow with PKCE (S256) against
 * `GITLAB_URL` (https://docs.gitlab.com/api/oauth2/#authorization-code-with-proof-key-for-code-exchange-pkce),
 * with the OAuth application's id and secret (`GITLAB_CLIENT_ID`, `GITLAB_CLIENT_SECRET`).
 *
 * Written against WebCrypto rather than arctic: arctic's GitLab provider sends no PKCE, and the
 * two requests are a dozen lines. The caller keeps `state` and the verifier (a signed, HttpOnly,
 * short-lived cookie), compares `state` on the way back, then calls {@link exchangeCode} and reads
 * the user with GitLabClient#currentUser and `verifiedEmail`.
 */
import { z } from "zod";
import { type GitLabTransport, gitlabRequest, instanceUrl } from "./http.ts";

/** Enough to read the user and their confirmed email; nothing that reaches repositories. */
export const SIGN_IN_SCOPES = ["read_user"] as const;

export interface OAuthApp {
  clientId: string;
  clientSecret: string;
  /** Registered on the GitLab application exactly as sent. */
  redirectUri: string;
}

export const Tokens = z.object({
  access_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number().optional(),
  refresh_token: z.string().optional(),
  scope: z.string().optional(),
  created_at: z.number().optional(),
});
export type Tokens = z.infer<typeof Tokens>;

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A random value for `state` or a PKCE verifier (32 bytes, base64url: 43 characters, RFC 7636 §4.1). */
export function randomToken(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/** The URL to send the browser to: GitLab asks the user, then redirects back with `code` and `state`. */
export async function authorizationUrl(
  baseUrl: string | undefined,
  app: Pick<OAuthApp, "clientId" | "redirectUri">,
  o: { state: string; codeVerifier: string; scopes?: readonly string[] },
): Promise<URL> {
  return instanceUrl(baseUrl, "/oauth/authorize", {
    client_id: app.clientId,
    redirect_uri: app.redirectUri,
    response_type: "code",
    state: o.state,
    scope: (o.scopes ?? SIGN_IN_SCOPES).join(" "),
    code_challenge: await codeChallenge(o.codeVerifier),
    code_challenge_method: "S256",
  });
}

/**
 * `POST /oauth/token` with the code and its verifier. A used, expired or mismatched code, or a
 * wrong verifier, is GitLab's 400 `invalid_grant` (GitLabApiError, `details.code`). Not retried
 * after a failure other than 429: a code works once, so a second try could not succeed anyway.
 */
export function exchangeCode(transport: GitLabTransport, app: OAuthApp, o: { code: string; codeVerifier: string }): Promise<Tokens> {
  return gitlabRequest(transport, {
    method: "POST",
    path: "/oauth/token",
    form: {
      grant_type: "authorization_code",
      client_id: app.clientId,
      client_secret: app.clientSecret,
      code: o.code,
      redirect_uri: app.redirectUri,
      code_verifier: o.codeVerifier,
    },
    answer: Tokens,
    idempotent: false,
  });
}
