/**
 * A local fake of GitHub for the GitHub App integration: one HTTP server laid out like GitHub
 * Enterprise Server, the REST API under `apiUrl` (…/api/v3) and the web host (OAuth pages, git over
 * HTTP) at `webUrl`, so `GITHUB_API_URL = fake.apiUrl` exercises the GHES path handling too.
 *
 * Faithful where Sparki depends on it (GitHub's docs, octokit's schemas):
 * - `/app/...` accepts only an RS256 app JWT checked against the app's public key (iss = app id
 *   or client id, exp in the future and at most 10 minutes after iat and after now);
 *   installation tokens (`ghs_`, 1 hour) narrowed by `repositories`/`repository_ids`/`permissions`,
 *   422 when asking for more than the installation has.
 * - Installation tokens reach the installation's repositories with its permissions: a private
 *   repository outside them is a 404, a missing permission a 403 "Resource not accessible by integration".
 * - Check runs and deployments validate like GitHub (github-repo-api.ts).
 * - OAuth web flow with state and PKCE S256; failed exchanges answer 200 with `{error}`; user
 *   tokens (`ghu_`) for `/user`, `/user/emails`, `/user/installations`.
 * - `git clone` of `webUrl/{owner}/{repo}.git` through git http-backend; a private repository
 *   needs Basic `x-access-token:<installation token>`.
 * The endpoints live beside this file: github-app-api.ts (`/app`), github-repo-api.ts
 * (`/repos`), github-web.ts (OAuth, git); this file holds the state, auth and `/user`.
 * Controls: add users, orgs, apps, installations, repositories; `browserUser` (who is signed in
 * on the web host); `failNext` (5xx, 403 secondary rate limit with retry-after, primary limits);
 * `requests`. Webhook deliveries: test/fakes/github-webhooks.ts.
 */
import { generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { appApi, verifyAppJwt } from "./github-app-api.ts";
import { type RepoApiState, repoApi } from "./github-repo-api.ts";
import { webHost } from "./github-web.ts";
import { type FakeInstallation, type FakeRepo, type FakeUser, installationView, privateUserView, repoLiteView, repoView, type Urls } from "./github-views.ts";

export type { FakeInstallation, FakeRepo, FakeUser } from "./github-views.ts";

export interface FakeApp {
  id: number;
  slug: string;
  name: string;
  clientId: string;
  clientSecret: string;
  /** PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), as GitHub hands it out. */
  privateKey: string;
  publicKey: KeyObject;
  owner: string;
  permissions: Record<string, string>;
  events: string[];
  callbackUrls: string[];
}

/** What a bearer token stands for. */
export type Grant =
  | { kind: "installation"; installationId: number; repositoryIds: number[] | null; permissions: Record<string, string>; expiresAt: number }
  | { kind: "user"; login: string; appId: number; expiresAt: number }
  | { kind: "app"; appId: number };

export interface RecordedRequest {
  method: string;
  host: "api" | "web";
  /** Path after the API root for API requests, the full path on the web host. */
  path: string;
  authorization: string | undefined;
  body: unknown;
}

interface Failure {
  status: number;
  remaining: number;
  on?: string;
  retryAfter?: number;
  /** A primary rate limit: x-ratelimit-remaining 0 and this reset (Unix seconds). */
  resetAt?: number;
}

const DOCS = "https://docs.github.com/rest";
const LEVEL: Record<string, number> = { read: 1, write: 2, admin: 3 };
const token = (prefix: string): string => `${prefix}_${randomBytes(18).toString("base64url").replace(/[-_]/g, "x").slice(0, 36)}`;
export const API_VERSIONS = ["2022-11-28", "2026-03-10"];

export class FakeGitHub implements RepoApiState {
  readonly requests: RecordedRequest[] = [];
  readonly users = new Map<string, FakeUser>();
  readonly apps = new Map<number, FakeApp>();
  readonly installations = new Map<number, FakeInstallation>();
  readonly repos = new Map<string, FakeRepo>();
  readonly tokens = new Map<string, Grant>();
  /** The user signed in on the web host (the OAuth authorize page); null shows a login page. */
  browserUser: string | null = null;
  /** The next authorize answers access_denied, as when the user clicks Cancel. */
  denyAuthorization = false;
  apiUrl = "";
  webUrl = "";
  private server: Server | null = null;
  private failures: Failure | null = null;
  // GitHub's ids are unique across all of GitHub; a random base keeps two fakes' ids apart when
  // their stacks share one database (the local-services pass).
  private seq = 1000 + Math.floor(Math.random() * 1e6) * 1000;
  readonly repoApi = repoApi(this);
  private readonly web = webHost(this);

  nextId(): number {
    return ++this.seq;
  }

  get urls(): Urls {
    return { api: this.apiUrl, web: this.webUrl };
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      // A bug in the fake answers 500 at once rather than leaving the client waiting.
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end(`fake GitHub failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.webUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.apiUrl = `${this.webUrl}/api/v3`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    server?.closeAllConnections();
    if (server) await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  }

  addUser(login: string, o: { name?: string; emails?: FakeUser["emails"]; type?: "User" | "Organization"; members?: string[] } = {}): FakeUser {
    const user: FakeUser = { id: this.nextId(), login, type: o.type ?? "User", name: o.name ?? null, emails: o.emails ?? [], members: o.members ?? [] };
    this.users.set(login.toLowerCase(), user);
    return user;
  }

  addOrg(login: string, members: string[]): FakeUser {
    return this.addUser(login, { type: "Organization", members });
  }

  /** A GitHub App with a fresh RSA key (2048 bits, PKCS#1 PEM like GitHub's download). */
  addApp(o: { slug?: string; owner?: string; permissions?: Record<string, string>; callbackUrls?: string[] } = {}): FakeApp {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const id = this.nextId();
    if (!this.users.has((o.owner ?? "sparki-dev").toLowerCase())) this.addUser(o.owner ?? "sparki-dev", { type: "Organization" });
    const app: FakeApp = {
      id,
      slug: o.slug ?? `sparki-${id}`,
      name: o.slug ?? `Sparki ${id}`,
      clientId: `Iv23li${randomBytes(7).toString("hex")}`,
      clientSecret: randomBytes(20).toString("hex"),
      privateKey: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
      publicKey,
      owner: o.owner ?? "sparki-dev",
      permissions: o.permissions ?? { metadata: "read", contents: "read", checks: "write", deployments: "write", pull_requests: "read", emails: "read" },
      events: ["push", "pull_request"],
      callbackUrls: o.callbackUrls ?? [],
    };
    this.apps.set(id, app);
    return app;
  }

  addRepo(fullName: string, o: { private?: boolean; defaultBranch?: string; refs?: Record<string, string>; gitDir?: string; forkOf?: string } = {}): FakeRepo {
    const [owner, name] = fullName.split("/") as [string, string];
    if (!this.users.has(owner.toLowerCase())) this.addUser(owner);
    const repo: FakeRepo = {
      id: this.nextId(),
      owner,
      name,
      private: o.private ?? false,
      defaultBranch: o.defaultBranch ?? "main",
      refs: o.refs ?? {},
      ...(o.gitDir ? { gitDir: o.gitDir } : {}),
      ...(o.forkOf ? { forkOf: o.forkOf } : {}),
    };
    this.repos.set(fullName.toLowerCase(), repo);
    return repo;
  }

  /** Installs `app` on `account`: every repository of it, or only `repositories` (full names). */
  install(app: FakeApp, account: string, o: { repositories?: string[]; permissions?: Record<string, string>; createdAt?: Date } = {}): FakeInstallation {
    if (!this.users.has(account.toLowerCase())) this.addUser(account);
    const inst: FakeInstallation = {
      id: this.nextId(),
      appId: app.id,
      account,
      repositorySelection: o.repositories ? "selected" : "all",
      repositoryIds: new Set((o.repositories ?? []).map((r) => this.repo(r).id)),
      permissions: o.permissions ?? { ...app.permissions },
      events: app.events,
      suspended: false,
      createdAt: o.createdAt ?? new Date(),
    };
    this.installations.set(inst.id, inst);
    return inst;
  }

  repo(fullName: string): FakeRepo {
    const r = this.repos.get(fullName.toLowerCase());
    if (!r) throw new Error(`fake GitHub: no repository ${fullName}`);
    return r;
  }

  user(login: string): FakeUser {
    const u = this.users.get(login.toLowerCase());
    if (!u) throw new Error(`fake GitHub: no user ${login}`);
    return u;
  }

  /** Repositories an installation reaches now. */
  installationRepos(inst: FakeInstallation): FakeRepo[] {
    const all = [...this.repos.values()];
    return inst.repositorySelection === "all"
      ? all.filter((r) => r.owner.toLowerCase() === inst.account.toLowerCase())
      : all.filter((r) => inst.repositoryIds.has(r.id));
  }

  /** Repositories an installation token reaches (its installation's, narrowed when minted). */
  grantRepos(g: Grant): FakeRepo[] {
    if (g.kind !== "installation") return [];
    const inst = this.installations.get(g.installationId);
    if (!inst || inst.suspended) return [];
    const repos = this.installationRepos(inst);
    return g.repositoryIds ? repos.filter((r) => g.repositoryIds?.includes(r.id)) : repos;
  }

  /** Whether the grant holds `permission` at `level` or above. */
  can(g: Grant, permission: string, level: "read" | "write"): boolean {
    if (g.kind !== "installation") return false;
    return (LEVEL[g.permissions[permission] ?? ""] ?? 0) >= (LEVEL[level] ?? 9);
  }

  /** Mints an installation token directly (as if the app had asked), for tests that need one. */
  mintToken(inst: FakeInstallation, o: { repositoryIds?: number[]; permissions?: Record<string, string>; ttlMs?: number } = {}): string {
    const t = token("ghs");
    this.tokens.set(t, {
      kind: "installation",
      installationId: inst.id,
      repositoryIds: o.repositoryIds ?? null,
      permissions: o.permissions ?? inst.permissions,
      expiresAt: Date.now() + (o.ttlMs ?? 3_600_000),
    });
    return t;
  }

  /** A user token for `login` from `app`, as the OAuth flow would end. */
  userToken(app: FakeApp, login: string): string {
    const t = token("ghu");
    this.tokens.set(t, { kind: "user", login, appId: app.id, expiresAt: Date.now() + 8 * 3_600_000 });
    return t;
  }

  /**
   * The next `times` requests (1 by default) whose "METHOD /path" (API path without the root)
   * starts with `on` fail with `status`: a 403/429 with `retryAfter` is GitHub's secondary rate
   * limit, with `resetAt` its primary one; a 5xx an outage.
   */
  failNext(status: number, o: { times?: number; on?: string; retryAfter?: number; resetAt?: number } = {}): void {
    this.failures = { status, remaining: o.times ?? 1, ...o };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://fake");
    const api = url.pathname === "/api/v3" || url.pathname.startsWith("/api/v3/");
    const path = api ? url.pathname.slice("/api/v3".length) || "/" : url.pathname;
    const send = (status: number, payload: unknown, headers: Record<string, string | number> = {}): void => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
      res.end(payload === undefined ? "" : JSON.stringify(payload));
    };
    const git = !api && /\.git\//.test(path);
    let body: unknown = null;
    if (!git && raw.length > 0) {
      const type = req.headers["content-type"] ?? "";
      if (type.includes("application/x-www-form-urlencoded")) body = Object.fromEntries(new URLSearchParams(raw.toString("utf8")));
      else {
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch {
          return send(400, { message: "Problems parsing JSON", documentation_url: DOCS, status: "400" });
        }
      }
    }
    this.requests.push({ method: req.method ?? "", host: api ? "api" : "web", path: path + url.search, authorization: req.headers.authorization, body });

    const f = this.failures;
    if (f && (f.on === undefined || `${req.method} ${path}`.startsWith(f.on))) {
      if (--f.remaining <= 0) this.failures = null;
      return this.sendFailure(f, send);
    }
    if (!api) return this.web(req, url, path, body, raw, res, send);

    if (!req.headers["user-agent"])
      return send(403, {
        message: "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        documentation_url: DOCS,
        status: "403",
      });
    const version = req.headers["x-github-api-version"];
    if (version !== undefined && !API_VERSIONS.includes(String(version)))
      return send(400, { message: `API version ${version} is not supported.`, documentation_url: DOCS, status: "400" });
    const grant = this.authenticate(req.headers.authorization);
    if (grant === "bad") return send(401, { message: "Bad credentials", documentation_url: DOCS, status: "401" });
    if (typeof grant === "string") return send(401, { message: grant, documentation_url: DOCS, status: "401" });
    if (path.startsWith("/app")) return appApi(this, req.method ?? "", path, body, grant, send);
    if (path.startsWith("/user")) return this.userApi(req.method ?? "", path, grant, send);
    if (path === "/installation/repositories" && req.method === "GET") {
      if (grant?.kind !== "installation")
        return send(403, { message: "You must authenticate with an installation access token", documentation_url: DOCS, status: "403" });
      const repos = this.grantRepos(grant);
      const per = Math.min(Number(url.searchParams.get("per_page") ?? 30) || 30, 100);
      const page = Math.max(Number(url.searchParams.get("page") ?? 1) || 1, 1);
      const inst = this.installations.get(grant.installationId);
      return send(200, {
        total_count: repos.length,
        repository_selection: grant.repositoryIds ? "selected" : inst?.repositorySelection,
        repositories: repos.slice((page - 1) * per, page * per).map((r) => repoView(r, this.user(r.owner), this.urls)),
      });
    }
    if (path.startsWith("/repos/")) return this.repoApi(req.method ?? "", path, url.searchParams, body, grant, send);
    return send(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
  }

  private sendFailure(f: Failure, send: (s: number, p: unknown, h?: Record<string, string | number>) => void): void {
    if (f.resetAt !== undefined)
      return send(
        f.status,
        { message: "API rate limit exceeded for installation.", documentation_url: DOCS, status: String(f.status) },
        {
          "x-ratelimit-limit": 5000,
          "x-ratelimit-remaining": 0,
          "x-ratelimit-reset": f.resetAt,
        },
      );
    if ((f.status === 403 || f.status === 429) && f.retryAfter !== undefined)
      return send(
        f.status,
        {
          message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
          documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
          status: String(f.status),
        },
        { "retry-after": f.retryAfter },
      );
    return send(f.status, { message: f.status >= 500 ? "Server Error" : "Forbidden", documentation_url: DOCS, status: String(f.status) });
  }

  /** The grant of an Authorization header: null (none), "bad", or a JWT problem message. */
  private authenticate(header: string | undefined): Grant | null | "bad" | string {
    if (!header) return null;
    const m = /^(?:bearer|token)\s+(\S+)$/i.exec(header);
    if (!m?.[1]) return "bad";
    const value = m[1];
    if (value.split(".").length === 3) return verifyAppJwt(this, value);
    const g = this.tokens.get(value);
    if (!g || (g.kind !== "app" && g.expiresAt < Date.now())) return "bad";
    return g;
  }

  private userApi(method: string, path: string, grant: Grant | null, send: (s: number, p: unknown) => void): void {
    if (!grant) return send(401, { message: "Requires authentication", documentation_url: DOCS, status: "401" });
    if (grant.kind !== "user") return send(403, { message: "Resource not accessible by integration", documentation_url: DOCS, status: "403" });
    const user = this.user(grant.login);
    if (method !== "GET") return send(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
    if (path === "/user") return send(200, privateUserView(user, this.urls));
    if (path === "/user/emails") return send(200, user.emails);
    if (path === "/user/installations") {
      const mine = [...this.installations.values()].filter((i) => {
        if (i.appId !== grant.appId) return false;
        const account = this.user(i.account);
        return account.login.toLowerCase() === user.login.toLowerCase() || account.members.some((m) => m.toLowerCase() === user.login.toLowerCase());
      });
      const app = this.apps.get(grant.appId)!;
      return send(200, { total_count: mine.length, installations: mine.map((i) => installationView(i, this.user(i.account), app.slug, this.urls)) });
    }
    return send(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
  }

  /** Repositories as REST shows them, for tests. */
  view(fullName: string): Record<string, unknown> {
    const r = this.repo(fullName);
    return repoView(r, this.user(r.owner), this.urls);
  }

  lite(fullName: string): Record<string, unknown> {
    return repoLiteView(this.repo(fullName));
  }
}
