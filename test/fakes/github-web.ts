/**
 * The GitHub fake's web host (github.com, or the GHES host without /api/v3): the OAuth web flow
 * and git over HTTP.
 * - `/login/oauth/authorize`: redirects back with `code` and `state` for `gh.browserUser` (a login
 *   page when nobody is signed in); a redirect_uri that is not a registered callback (or a path
 *   under one) goes back to the registered one with `error=redirect_uri_mismatch`; PKCE is S256 only.
 * - `/login/oauth/access_token`: form, JSON or query parameters; failures are HTTP 200 with
 *   `{error, error_description, error_uri}` as GitHub answers; JSON only with Accept: application/json.
 * - `/{owner}/{repo}.git/...`: git http-backend (github-git.ts); a private repository needs Basic
 *   `x-access-token:<installation token>` reaching it with contents read; pushes are refused.
 */
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FakeGitHub } from "./github.ts";
import { serveGit } from "./github-git.ts";

export type WebHandler = (
  req: IncomingMessage,
  url: URL,
  path: string,
  body: unknown,
  raw: Buffer,
  res: ServerResponse,
  send: (s: number, p: unknown, h?: Record<string, string | number>) => void,
) => void;

const token = (prefix: string): string => `${prefix}_${randomBytes(18).toString("base64url").replace(/[-_]/g, "x").slice(0, 36)}`;

/** The web host's handler for one fake (the OAuth codes it issued live here). */
export function webHost(gh: FakeGitHub): WebHandler {
  const codes = new Map<string, { clientId: string; login: string; redirectUri: string; challenge: string | null; expiresAt: number; used: boolean }>();

  function web(
    req: IncomingMessage,
    url: URL,
    path: string,
    body: unknown,
    raw: Buffer,
    res: ServerResponse,
    send: (s: number, p: unknown, h?: Record<string, string | number>) => void,
  ): void {
    if (path === "/login/oauth/authorize" && req.method === "GET") return authorize(url, res);
    if (path === "/login/oauth/access_token" && req.method === "POST") {
      const params = { ...Object.fromEntries(url.searchParams), ...((body ?? {}) as Record<string, unknown>) };
      const answer = exchange(params);
      if (/application\/json/.test(req.headers.accept ?? "")) return send(200, answer);
      res.writeHead(200, { "content-type": "application/x-www-form-urlencoded; charset=utf-8" });
      res.end(new URLSearchParams(Object.entries(answer).map(([k, v]): [string, string] => [k, String(v)])).toString());
      return;
    }
    const g = /^\/([^/]+)\/([^/]+)\.git(\/.*)$/.exec(path);
    if (g) return git(g[1]!, g[2]!, g[3]!, url, req, raw, res);
    res.writeHead(404, { "content-type": "text/html" });
    res.end("<h1>404</h1>");
  }

  function authorize(url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const app = [...gh.apps.values()].find((a) => a.clientId === q.get("client_id"));
    if (!app) {
      res.writeHead(404, { "content-type": "text/html" });
      return void res.end("<h1>404</h1>");
    }
    const registered = app.callbackUrls[0] ?? "";
    const asked = q.get("redirect_uri") ?? registered;
    const redirect = (to: string, params: Record<string, string>): void => {
      const target = new URL(to);
      for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
      const state = q.get("state");
      if (state !== null) target.searchParams.set("state", state);
      res.writeHead(302, { location: target.toString() });
      res.end();
    };
    // The redirect_uri must be a registered callback URL or a path under one (same host and port).
    const fits = app.callbackUrls.some((c) => {
      try {
        const a = new URL(asked);
        const b = new URL(c);
        return a.origin === b.origin && (a.pathname === b.pathname || a.pathname.startsWith(`${b.pathname.replace(/\/$/, "")}/`));
      } catch {
        return false;
      }
    });
    if (!fits)
      return redirect(registered, {
        error: "redirect_uri_mismatch",
        error_description: "The redirect_uri MUST match the registered callback URL for this application.",
      });
    const challenge = q.get("code_challenge");
    if (challenge !== null && q.get("code_challenge_method") !== "S256")
      return redirect(asked, { error: "invalid_request", error_description: "code_challenge_method must be S256" });
    if (gh.denyAuthorization) {
      gh.denyAuthorization = false;
      return redirect(asked, { error: "access_denied", error_description: "The user has denied your application access." });
    }
    if (!gh.browserUser) {
      res.writeHead(200, { "content-type": "text/html" });
      return void res.end("<title>Sign in to GitHub</title><form>Sign in to GitHub to continue</form>");
    }
    const code = randomBytes(10).toString("hex");
    codes.set(code, { clientId: app.clientId, login: gh.browserUser, redirectUri: asked, challenge, expiresAt: Date.now() + 600_000, used: false });
    redirect(asked, { code });
  }

  function exchange(p: Record<string, unknown>): Record<string, unknown> {
    const fail = (error: string, error_description: string): Record<string, unknown> => ({
      error,
      error_description,
      error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors",
    });
    const app = [...gh.apps.values()].find((a) => a.clientId === p.client_id);
    if (!app || app.clientSecret !== p.client_secret) return fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
    const c = typeof p.code === "string" ? codes.get(p.code) : undefined;
    if (!c || c.used || c.expiresAt < Date.now() || c.clientId !== app.clientId)
      return fail("bad_verification_code", "The code passed is incorrect or expired.");
    if (p.redirect_uri !== undefined && p.redirect_uri !== c.redirectUri)
      return fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.");
    if (c.challenge !== null) {
      const v = typeof p.code_verifier === "string" ? p.code_verifier : "";
      if (createHash("sha256").update(v).digest("base64url") !== c.challenge)
        return fail("bad_verification_code", "The code_verifier does not match the code_challenge.");
    }
    c.used = true;
    return {
      access_token: gh.userToken(app, c.login),
      expires_in: 28800,
      refresh_token: token("ghr"),
      refresh_token_expires_in: 15897600,
      token_type: "bearer",
      scope: "",
    };
  }

  function git(owner: string, name: string, rest: string, url: URL, req: IncomingMessage, raw: Buffer, res: ServerResponse): void {
    const notFound = (): void => {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("Repository not found.\n");
    };
    const repo = gh.repos.get(`${owner}/${name}`.toLowerCase());
    if (rest.includes("receive-pack") || url.searchParams.get("service") === "git-receive-pack") {
      res.writeHead(403, { "content-type": "text/plain" });
      return void res.end("Permission denied: the fake serves fetches only.\n");
    }
    const auth = req.headers.authorization;
    let user = "";
    if (auth) {
      const m = /^Basic\s+(\S+)$/i.exec(auth);
      const [login, password] = m?.[1] ? Buffer.from(m[1], "base64").toString("utf8").split(/:(.*)/s) : [];
      const g = password ? gh.tokens.get(password) : undefined;
      if (!g || g.kind === "app" || g.expiresAt < Date.now() || (g.kind === "installation" && login !== "x-access-token")) {
        res.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Basic realm="GitHub"' });
        return void res.end("Invalid username or token. Password authentication is not supported for Git operations.\n");
      }
      user = login ?? "";
      if (repo?.private && !(g.kind === "installation" && gh.grantRepos(g).includes(repo) && gh.can(g, "contents", "read"))) return notFound();
    } else if (repo?.private) {
      res.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Basic realm="GitHub"' });
      return void res.end("");
    }
    if (!repo?.gitDir) return notFound();
    serveGit(repo.gitDir, rest, url.search.slice(1), req, raw, res, user);
  }

  return web;
}
