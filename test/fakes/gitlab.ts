/**
 * A local fake of GitLab (gitlab.com or self-managed) for the endpoints Sparki uses, over real HTTP:
 *
 * - REST API v4 (https://docs.gitlab.com/api/rest/): `GET /projects/:id` (numeric id or URL-encoded
 *   path), commit statuses (`POST /projects/:id/statuses/:sha` with GitLab's transition rules,
 *   `GET /projects/:id/repository/commits/:sha/statuses`) and `GET /user`; `PRIVATE-TOKEN` or
 *   `Authorization: Bearer`, scopes, roles, and GitLab's error shapes (`{message}` from the API,
 *   `{error}` from parameter validation and OAuth, a plain-text 429 from the rate limiter).
 * - Project access tokens: a bot user that is a member of one project only.
 * - OAuth 2.0 with PKCE (Doorkeeper's answers): test/fakes/gitlab-oauth.ts.
 * - Git over HTTP: real bare repositories served by `git http-backend` (test/fakes/gitlab-git.ts),
 *   Basic auth with `oauth2:<oauth token>` or any username with an access token.
 * - Webhook payloads and deliveries: test/fakes/gitlab-hooks.ts.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { branchSha, commitFiles, fullSha, handleGit, hasCommit, initBare, setBranch } from "./gitlab-git.ts";
import { type FakeStatus, postStatus, statusView } from "./gitlab-statuses.ts";
import { handleAuthorize, handleToken, type OAuthState } from "./gitlab-oauth.ts";

/** GitLab's role levels (https://docs.gitlab.com/api/members/#roles). */
export const AccessLevel = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 } as const;

export interface FakeUser {
  id: number;
  username: string;
  name: string;
  /** The primary email; trusted only once confirmed (confirmed_at set). */
  email: string;
  confirmed_at: string | null;
  bot: boolean;
}

export type { FakeStatus };

export interface FakeProject {
  id: number;
  path_with_namespace: string;
  visibility: "public" | "private";
  default_branch: string;
  gitDir: string;
  /** The default branch's first commit. */
  head: string;
  members: Map<number, number>;
  statuses: FakeStatus[];
}

export interface FakeToken {
  token: string;
  userId: number;
  scopes: string[];
  kind: "personal" | "project" | "oauth";
  revoked: boolean;
}

/** A request as the fake received it, for tests to assert on. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** `private-token`, `bearer` or `basic`: how the caller authenticated, if at all. */
  auth: "private-token" | "bearer" | "basic" | null;
  body: unknown;
}

type Send = (status: number, payload: unknown, headers?: Record<string, string>) => void;
const API_SCOPES = ["api"];
const READ_API_SCOPES = ["api", "read_api"];

/** The fake's in-memory state, its controls, and the server. */
export class FakeGitLab implements OAuthState {
  readonly requests: RecordedRequest[] = [];
  readonly users: FakeUser[] = [];
  readonly projects: FakeProject[] = [];
  readonly tokens = new Map<string, FakeToken>();
  readonly apps: OAuthState["apps"] = [];
  readonly codes: OAuthState["codes"] = new Map();
  /** The user the browser is signed in as for `/oauth/authorize` (null: the sign-in page). */
  signedIn: FakeUser | null = null;
  /** The next authorization is refused by the user (`error=access_denied`). */
  denyNext = false;
  /** Base URL to hand the client as GITLAB_URL (the instance root, without /api/v4). */
  url = "";
  /** Where the bare repositories live (`<root>/<path_with_namespace>.git`). */
  repoRoot = "";
  private server: Server | null = null;
  // Ids are unique across the whole GitLab instance; a random base keeps two fakes apart in one database.
  private seq = 100 + Math.floor(Math.random() * 1e6) * 1000;
  private failures: { status: number; retryAfter?: number; remaining: number; on?: string } | null = null;

  async start(): Promise<void> {
    this.repoRoot = await mkdtemp(join(tmpdir(), "fake-gitlab-"));
    this.server = createServer((req, res) => void this.handle(req, res));
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    if (this.repoRoot) await rm(this.repoRoot, { recursive: true, force: true });
  }

  nextId(): number {
    this.seq += 1;
    return this.seq;
  }

  addUser(o: { username: string; name?: string; email?: string; confirmed?: boolean; bot?: boolean }): FakeUser {
    const user: FakeUser = {
      id: this.nextId(),
      username: o.username,
      name: o.name ?? o.username,
      email: o.email ?? `${o.username}@example.com`,
      confirmed_at: o.confirmed === false ? null : "2026-01-02T03:04:05.000Z",
      bot: o.bot ?? false,
    };
    this.users.push(user);
    return user;
  }

  /** A project with a bare repository whose default branch holds one commit of `files`. */
  async addProject(o: { path: string; visibility?: "public" | "private"; defaultBranch?: string; files?: Record<string, string> }): Promise<FakeProject> {
    const branch = o.defaultBranch ?? "main";
    const gitDir = join(this.repoRoot, `${o.path}.git`);
    await initBare(gitDir, branch);
    const head = await commitFiles(gitDir, branch, o.files ?? { "README.md": `# ${o.path}\n` }, "Initial commit");
    const project: FakeProject = {
      id: this.nextId(),
      path_with_namespace: o.path,
      visibility: o.visibility ?? "private",
      default_branch: branch,
      gitDir,
      head,
      members: new Map(),
      statuses: [],
    };
    this.projects.push(project);
    return project;
  }

  /** Commits `files` on `branch` (created from the default branch when new); returns the SHA. */
  async commit(project: FakeProject, branch: string, files: Record<string, string | null>, message = "Change"): Promise<string> {
    if ((await branchSha(project.gitDir, branch)) === null) {
      const base = await branchSha(project.gitDir, project.default_branch);
      if (base) await setBranch(project.gitDir, branch, base);
    }
    return commitFiles(project.gitDir, branch, files, message);
  }

  /** Deletes a branch, as a push of the zero SHA would. */
  deleteBranch(project: FakeProject, branch: string): Promise<void> {
    return setBranch(project.gitDir, branch, null);
  }

  addMember(project: FakeProject, user: FakeUser, level: number): void {
    project.members.set(user.id, level);
  }

  /** A personal access token (`glpat-…`) of `user`. */
  addPersonalToken(user: FakeUser, scopes: string[]): string {
    return this.issue(user.id, scopes, "personal");
  }

  /**
   * A project access token: GitLab makes a bot user, a member of this project only at `level`
   * (maintainer by default), and the token acts as that bot.
   */
  addProjectToken(project: FakeProject, o: { scopes: string[]; level?: number }): string {
    const bot = this.addUser({ username: `project_${project.id}_bot_${randomBytes(4).toString("hex")}`, name: "Sparki", bot: true });
    this.addMember(project, bot, o.level ?? AccessLevel.maintainer);
    return this.issue(bot.id, o.scopes, "project");
  }

  issue(userId: number, scopes: string[], kind: FakeToken["kind"]): string {
    const token = kind === "oauth" ? randomBytes(32).toString("hex") : `glpat-${randomBytes(15).toString("base64url")}`;
    this.tokens.set(token, { token, userId, scopes, kind, revoked: false });
    return token;
  }

  revoke(token: string): void {
    const t = this.tokens.get(token);
    if (t) t.revoked = true;
  }

  /** An OAuth application (Admin/User Settings > Applications) with its redirect URI and scopes. */
  addOAuthApp(o: { redirectUri: string; scopes?: string[]; confidential?: boolean }): { clientId: string; secret: string } {
    const app = {
      clientId: randomBytes(32).toString("hex"),
      secret: `gloas-${randomBytes(32).toString("hex")}`,
      redirectUri: o.redirectUri,
      scopes: o.scopes ?? ["read_user", "openid", "profile", "email"],
      confidential: o.confidential ?? true,
    };
    this.apps.push(app);
    return { clientId: app.clientId, secret: app.secret };
  }

  /**
   * The next `times` API requests (1 by default) are answered with this status before anything is
   * done: 429 as GitLab's rate limiter answers (plain text, Retry-After), 5xx as an outage. `on`
   * ("POST", "GET /api/v4/projects/12") limits it to requests whose method and path start so.
   */
  failNext(status: number, options: { times?: number; retryAfter?: number; on?: string } = {}): void {
    this.failures = {
      status,
      remaining: options.times ?? 1,
      ...(options.retryAfter === undefined ? {} : { retryAfter: options.retryAfter }),
      ...(options.on ? { on: options.on } : {}),
    };
  }

  /** The statuses GitLab shows for a commit (latest per name unless `all`). */
  statusesOf(project: FakeProject, sha: string, all = false): FakeStatus[] {
    return project.statuses.filter((s) => s.sha === sha && (all || !s.retried));
  }

  private findProject(id: string): FakeProject | undefined {
    const decoded = decodeURIComponent(id);
    if (/^\d+$/.test(decoded)) return this.projects.find((p) => p.id === Number(decoded));
    return this.projects.find((p) => p.path_with_namespace.toLowerCase() === decoded.toLowerCase());
  }

  /** The caller's role in the project (0: none). */
  levelOf(project: FakeProject, user: FakeUser | null): number {
    return user ? (project.members.get(user.id) ?? 0) : 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://fake");
    const send: Send = (status, payload, headers = {}) => {
      const text = typeof payload === "string";
      res.writeHead(status, { "content-type": text ? "text/plain; charset=utf-8" : "application/json", ...headers });
      res.end(text ? payload : JSON.stringify(payload));
    };
    const authorization = req.headers.authorization ?? "";
    const privateToken = req.headers["private-token"];
    const auth: RecordedRequest["auth"] =
      typeof privateToken === "string" ? "private-token" : /^bearer /i.test(authorization) ? "bearer" : /^basic /i.test(authorization) ? "basic" : null;
    const body = parseBody(req.headers["content-type"], raw);
    this.requests.push({ method: req.method ?? "", path: url.pathname + url.search, auth, body });

    const gitPath = /^\/(.+?)\.git(\/(?:info\/refs|git-upload-pack|git-receive-pack))$/.exec(url.pathname);
    if (gitPath) return handleGit(this, req, raw, res, gitPath[1] ?? "", gitPath[2] ?? "");
    if (url.pathname === "/oauth/authorize") return handleAuthorize(this, req, url, res);
    if (url.pathname === "/oauth/token") return handleToken(this, req, body, send);
    if (!url.pathname.startsWith("/api/v4/")) return send(404, { error: "404 Not Found" });
    if ((body as { __malformed?: boolean }).__malformed) return send(400, { error: "400 Bad Request" });

    const f = this.failures;
    if (f && (f.on === undefined || `${req.method} ${url.pathname}`.startsWith(f.on))) {
      if (--f.remaining <= 0) this.failures = null;
      // GitLab's rate limiter (Rack::Attack) answers in plain text with Retry-After and RateLimit-*.
      if (f.status === 429)
        return send(429, "Retry later\n", { ...(f.retryAfter === undefined ? {} : { "retry-after": String(f.retryAfter) }), "ratelimit-remaining": "0" });
      // A 409 is what the status endpoint answers when another update of the commit holds its lock.
      if (f.status === 409) return send(409, { message: "Another update to this commit status is in progress" });
      return send(f.status, { message: `${f.status} ${f.status < 500 ? "Bad Request" : "Internal Server Error"}` });
    }

    // A token that is presented must be valid, even on a public endpoint.
    let token: FakeToken | null = null;
    const presented = typeof privateToken === "string" ? privateToken : auth === "bearer" ? authorization.slice(7).trim() : null;
    if (presented !== null) {
      token = this.tokens.get(presented) ?? null;
      // PRIVATE-TOKEN carries access tokens only; an OAuth token goes in Authorization: Bearer.
      if (!token || token.revoked || (typeof privateToken === "string" && token.kind === "oauth")) return send(401, { message: "401 Unauthorized" });
    }
    const user = token ? (this.users.find((u) => u.id === token.userId) ?? null) : null;
    const needScope = (scopes: string[]): boolean => {
      if (!token || token.scopes.some((s) => scopes.includes(s))) return false;
      const description = "The request requires higher privileges than provided by the access token.";
      send(
        403,
        { error: "insufficient_scope", error_description: description, scope: scopes.join(" ") },
        { "www-authenticate": `Bearer realm="gitlab", error="insufficient_scope", error_description="${description}", scope="${scopes.join(" ")}"` },
      );
      return true;
    };
    const parts = url.pathname.slice("/api/v4/".length).split("/");

    if (parts.length === 1 && parts[0] === "user" && req.method === "GET") {
      if (!user) return send(401, { message: "401 Unauthorized" });
      if (needScope(["api", "read_api", "read_user"])) return;
      return send(200, this.userView(user));
    }
    if (parts[0] !== "projects" || !parts[1]) return send(404, { error: "404 Not Found" });
    if (needScope(req.method === "GET" ? READ_API_SCOPES : API_SCOPES)) return;
    const project = this.findProject(parts[1]);
    const level = project ? this.levelOf(project, user) : 0;
    // A private project the caller cannot see does not exist, as far as they can tell.
    if (!project || (project.visibility === "private" && level < AccessLevel.guest)) return send(404, { message: "404 Project Not Found" });

    if (parts.length === 2 && req.method === "GET") return send(200, this.projectView(project, user));
    if (parts.length === 4 && parts[2] === "statuses" && req.method === "POST") {
      if (level < AccessLevel.developer || !user) return send(403, { message: "403 Forbidden" });
      const params = { ...Object.fromEntries(url.searchParams), ...(body as object) };
      return postStatus(project, user, parts[3] ?? "", params, () => this.nextId(), send);
    }
    if (parts.length === 6 && parts[2] === "repository" && parts[3] === "commits" && parts[5] === "statuses" && req.method === "GET") {
      // Pipelines of a private project are for reporters and up.
      if (project.visibility === "private" && level < AccessLevel.reporter) return send(403, { message: "403 Forbidden" });
      const sha = parts[4] ?? "";
      if (!(await hasCommit(project.gitDir, sha))) return send(404, { message: "404 Commit Not Found" });
      const full = await fullSha(project.gitDir, sha);
      const q = url.searchParams;
      const list = this.statusesOf(project, full, q.get("all") === "true").filter(
        (s) => (!q.get("ref") || s.ref === q.get("ref")) && (!q.get("name") || s.name === q.get("name")),
      );
      const authorOf = (s: FakeStatus): FakeUser | undefined => this.users.find((u) => u.id === s.authorId);
      return send(
        200,
        list.map((s) => statusView(s, authorOf(s))),
      );
    }
    return send(404, { error: "404 Not Found" });
  }

  userView(u: FakeUser): Record<string, unknown> {
    return {
      id: u.id,
      username: u.username,
      name: u.name,
      state: "active",
      locked: false,
      avatar_url: `${this.url}/uploads/-/system/user/avatar/${u.id}/avatar.png`,
      web_url: `${this.url}/${u.username}`,
      created_at: "2026-01-01T00:00:00.000Z",
      bio: "",
      public_email: null,
      bot: u.bot,
      last_sign_in_at: "2026-12-01T00:00:00.000Z",
      confirmed_at: u.confirmed_at,
      email: u.email,
      two_factor_enabled: false,
      external: false,
      private_profile: false,
    };
  }

  projectView(p: FakeProject, user: FakeUser | null): Record<string, unknown> {
    const [namespace = "", name = p.path_with_namespace] = [p.path_with_namespace.split("/").slice(0, -1).join("/"), p.path_with_namespace.split("/").pop()];
    const level = this.levelOf(p, user);
    return {
      id: p.id,
      description: null,
      name,
      name_with_namespace: p.path_with_namespace.split("/").join(" / "),
      path: name,
      path_with_namespace: p.path_with_namespace,
      created_at: "2026-01-01T00:00:00.000Z",
      default_branch: p.default_branch,
      ssh_url_to_repo: `git@${new URL(this.url).host}:${p.path_with_namespace}.git`,
      http_url_to_repo: `${this.url}/${p.path_with_namespace}.git`,
      web_url: `${this.url}/${p.path_with_namespace}`,
      visibility: p.visibility,
      namespace: { id: 1, name: namespace, path: namespace.split("/").pop(), kind: "group", full_path: namespace },
      empty_repo: false,
      archived: false,
      ...(user ? { permissions: { project_access: level ? { access_level: level, notification_level: 3 } : null, group_access: null } } : {}),
    };
  }
}

/** A request body as GitLab reads it: JSON or form-encoded (both are accepted by the API). */
function parseBody(contentType: string | undefined, raw: Buffer): unknown {
  if (raw.length === 0) return {};
  const text = raw.toString("utf8");
  if (contentType?.includes("application/json")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return { __malformed: true };
    }
  }
  if (contentType?.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
  return {};
}
