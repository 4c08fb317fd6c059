/**
 * GitLab as an OAuth 2.0 provider (https://docs.gitlab.com/api/oauth2/), for the fake in
 * test/fakes/gitlab.ts: the authorization code flow with PKCE, answered the way GitLab's
 * Doorkeeper answers (errors as `{error, error_description}`, a bad client or redirect URI is an
 * error page and never a redirect, codes live 10 minutes and work once).
 */
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

interface App {
  clientId: string;
  secret: string;
  redirectUri: string;
  scopes: string[];
  confidential: boolean;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  userId: number;
  scopes: string[];
  challenge: string | null;
  method: "S256" | "plain" | null;
  expiresAt: number;
  used: boolean;
}

/** What the OAuth handlers need of the fake. */
export interface OAuthState {
  apps: App[];
  codes: Map<string, Grant>;
  signedIn: { id: number } | null;
  denyNext: boolean;
  issue(userId: number, scopes: string[], kind: "oauth"): string;
}

const CODE_TTL_MS = 10 * 60 * 1000;
const INVALID_GRANT =
  "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
const INVALID_CLIENT = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";

/** `GET /oauth/authorize`: the signed-in user approves at once (the consent page stands in for a click). */
export function handleAuthorize(state: OAuthState, req: IncomingMessage, url: URL, res: ServerResponse): void {
  const q = url.searchParams;
  const page = (status: number, text: string): void => {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
    res.end(text);
  };
  if (req.method !== "GET") return page(404, "Not Found");
  const app = state.apps.find((a) => a.clientId === q.get("client_id"));
  // No redirect for these: the redirect URI itself cannot be trusted yet.
  if (!app) return page(401, `invalid_client: ${INVALID_CLIENT}`);
  if (q.get("redirect_uri") !== app.redirectUri) return page(400, "invalid_redirect_uri: The redirect URI included is not valid.");
  const back = (params: Record<string, string>): void => {
    const to = new URL(app.redirectUri);
    for (const [k, v] of Object.entries(params)) to.searchParams.set(k, v);
    const st = q.get("state");
    if (st !== null) to.searchParams.set("state", st);
    res.writeHead(302, { location: to.toString() });
    res.end();
  };
  if (q.get("response_type") !== "code")
    return back({ error: "unsupported_response_type", error_description: "The authorization server does not support this response type." });
  const scopes = (q.get("scope") ?? "").split(/[ +]/).filter(Boolean);
  if (scopes.some((s) => !app.scopes.includes(s)))
    return back({ error: "invalid_scope", error_description: "The requested scope is invalid, unknown, or malformed." });
  const challenge = q.get("code_challenge");
  const method = q.get("code_challenge_method") ?? (challenge ? "plain" : null);
  if (method !== null && method !== "S256" && method !== "plain")
    return back({ error: "invalid_request", error_description: "The code_challenge_method must be one of plain, S256." });
  if (!state.signedIn) {
    res.writeHead(302, { location: "/users/sign_in" });
    res.end();
    return;
  }
  if (state.denyNext) {
    state.denyNext = false;
    return back({ error: "access_denied", error_description: "The resource owner or authorization server denied the request." });
  }
  const code = randomBytes(32).toString("hex");
  state.codes.set(code, {
    clientId: app.clientId,
    redirectUri: app.redirectUri,
    userId: state.signedIn.id,
    scopes: scopes.length ? scopes : ["read_user"],
    challenge,
    method: challenge ? (method as "S256" | "plain") : null,
    expiresAt: Date.now() + CODE_TTL_MS,
    used: false,
  });
  back({ code });
}

/** `POST /oauth/token` with `grant_type=authorization_code` (client secret in the body or Basic). */
export function handleToken(state: OAuthState, req: IncomingMessage, body: unknown, send: (status: number, payload: unknown) => void): void {
  const p = (body ?? {}) as Record<string, unknown>;
  const str = (k: string): string | null => (typeof p[k] === "string" ? (p[k] as string) : null);
  if (req.method !== "POST") return send(404, { error: "404 Not Found" });
  let clientId = str("client_id");
  let secret = str("client_secret");
  const basic = /^basic (.+)$/i.exec(req.headers.authorization ?? "");
  if (basic?.[1]) {
    const [id, pw] = Buffer.from(basic[1], "base64").toString("utf8").split(":");
    clientId = decodeURIComponent(id ?? "");
    secret = decodeURIComponent(pw ?? "");
  }
  const app = state.apps.find((a) => a.clientId === clientId);
  if (!app || (app.confidential && secret !== app.secret)) return send(401, { error: "invalid_client", error_description: INVALID_CLIENT });
  if (str("grant_type") !== "authorization_code")
    return send(400, { error: "unsupported_grant_type", error_description: "The authorization grant type is not supported by the authorization server." });
  const code = str("code") ?? "";
  const grant = state.codes.get(code);
  if (!grant || grant.used || grant.expiresAt < Date.now() || grant.clientId !== app.clientId || grant.redirectUri !== str("redirect_uri"))
    return send(400, { error: "invalid_grant", error_description: INVALID_GRANT });
  if (grant.challenge !== null) {
    const verifier = str("code_verifier");
    if (!verifier) return send(400, { error: "invalid_request", error_description: "Missing required parameter: code_verifier." });
    const computed = grant.method === "S256" ? createHash("sha256").update(verifier).digest("base64url") : verifier;
    if (computed !== grant.challenge) return send(400, { error: "invalid_grant", error_description: INVALID_GRANT });
  }
  grant.used = true;
  const accessToken = state.issue(grant.userId, grant.scopes, "oauth");
  send(200, {
    access_token: accessToken,
    token_type: "Bearer",
    expires_in: 7200,
    refresh_token: randomBytes(32).toString("hex"),
    scope: grant.scopes.join(" "),
    created_at: Math.floor(Date.now() / 1000),
  });
}
