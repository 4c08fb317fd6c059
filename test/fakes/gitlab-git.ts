/**
 * The git side of the GitLab fake (test/fakes/gitlab.ts): real bare repositories on disk, commits
 * written with git's plumbing (no work tree), and Git over HTTP served by `git http-backend` as a
 * CGI, so a test clones with the real git client exactly as a runner would.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AccessLevel, type FakeGitLab, type FakeUser } from "./gitlab.ts";
import { dirname, join } from "node:path";

/** The SHA git uses for "no commit": a created ref's `before`, a deleted ref's `after`. */
export const ZERO_SHA = "0".repeat(40);

const gitEnv = {
  GIT_AUTHOR_NAME: "Fake GitLab",
  GIT_AUTHOR_EMAIL: "fake@gitlab.test",
  GIT_COMMITTER_NAME: "Fake GitLab",
  GIT_COMMITTER_EMAIL: "fake@gitlab.test",
  // The machine's git config (hooks, templates, signing) must not leak into the fake's repositories.
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

/** Runs git with `input` on stdin; resolves its trimmed stdout, rejects with its stderr. */
export function git(args: string[], opts: { gitDir?: string; input?: string; env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      opts.gitDir ? [`--git-dir=${opts.gitDir}`, ...args] : args,
      { env: { ...process.env, ...gitEnv, ...opts.env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`git ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout.trim())),
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Creates an empty bare repository whose HEAD names `branch`. */
export async function initBare(dir: string, branch: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  await git(["init", "--bare", "--quiet", `--initial-branch=${branch}`, dir]);
}

/**
 * Commits `files` (path → content; null deletes) on top of `branch` (or as its first commit) and
 * moves the branch to it. Returns the new commit's SHA.
 */
export async function commitFiles(gitDir: string, branch: string, files: Record<string, string | null>, message: string): Promise<string> {
  const index = join(gitDir, `fake-index-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const env = { GIT_INDEX_FILE: index };
  const parent = await branchSha(gitDir, branch);
  await git(parent ? ["read-tree", parent] : ["read-tree", "--empty"], { gitDir, env });
  for (const [path, content] of Object.entries(files)) {
    if (content === null) {
      await git(["update-index", "--force-remove", path], { gitDir, env });
      continue;
    }
    const blob = await git(["hash-object", "-w", "--stdin"], { gitDir, input: content });
    await git(["update-index", "--add", "--cacheinfo", `100644,${blob},${path}`], { gitDir, env });
  }
  const tree = await git(["write-tree"], { gitDir, env });
  const sha = await git(["commit-tree", tree, ...(parent ? ["-p", parent] : []), "-m", message], { gitDir });
  await git(["update-ref", `refs/heads/${branch}`, sha], { gitDir });
  await rm(index, { force: true });
  return sha;
}

/** The commit a branch points at, or null when there is no such branch. */
export function branchSha(gitDir: string, branch: string): Promise<string | null> {
  return git(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`], { gitDir }).then(
    (sha) => sha || null,
    () => null,
  );
}

/** Points a branch at `sha`, or deletes it (null). */
export async function setBranch(gitDir: string, branch: string, sha: string | null): Promise<void> {
  await git(sha === null ? ["update-ref", "-d", `refs/heads/${branch}`] : ["update-ref", `refs/heads/${branch}`, sha], { gitDir });
}

/** Whether `sha` names a commit in the repository. */
export async function hasCommit(gitDir: string, sha: string): Promise<boolean> {
  if (!/^[0-9a-f]{7,40}$/i.test(sha)) return false;
  return git(["cat-file", "-e", `${sha}^{commit}`], { gitDir }).then(
    () => true,
    () => false,
  );
}

/** The full SHA of a commit named by a possibly short SHA. */
export function fullSha(gitDir: string, sha: string): Promise<string> {
  return git(["rev-parse", `${sha}^{commit}`], { gitDir });
}

/** Branches containing the commit, as GitLab's `branch_names_contains` lists them. */
export async function branchesContaining(gitDir: string, sha: string): Promise<string[]> {
  const out = await git(["branch", "--contains", sha, "--format=%(refname:short)"], { gitDir });
  return out ? out.split("\n") : [];
}

/**
 * Answers one Git-over-HTTP request with `git http-backend` (git's own smart HTTP server, run as
 * a CGI): `root` holds the repositories, `pathInfo` is `/<namespace>/<project>.git/<rest>`, and
 * `remoteUser` (set once the caller is authenticated) lets http-backend accept a push.
 */
export async function serveGit(
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
  root: string,
  pathInfo: string,
  remoteUser: string | null,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://fake");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    ...gitEnv,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: pathInfo,
    REQUEST_METHOD: req.method ?? "GET",
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    CONTENT_LENGTH: String(body.length),
    REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
  };
  if (remoteUser) env.REMOTE_USER = remoteUser;
  // git sends large fetch negotiations gzipped; http-backend inflates them when told.
  const encoding = req.headers["content-encoding"];
  if (typeof encoding === "string") env.HTTP_CONTENT_ENCODING = encoding;
  const protocol = req.headers["git-protocol"];
  if (typeof protocol === "string") env.GIT_PROTOCOL = protocol;

  const child = spawn("git", ["http-backend"], { env });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.stderr.on("data", (c: Buffer) => err.push(c));
  // http-backend may exit before reading all of its input (a refused or finished request); the
  // pipe then breaks, which is no error of the request's.
  child.stdin.on("error", () => undefined);
  child.stdin.end(body);
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  const raw = Buffer.concat(out);
  const split = raw.indexOf("\r\n\r\n");
  if (code !== 0 && split < 0) {
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(`git http-backend failed: ${Buffer.concat(err).toString("utf8")}`);
    return;
  }
  // A CGI answer: header lines (one may be `Status: 404 Not Found`), a blank line, the body.
  const head = split < 0 ? "" : raw.subarray(0, split).toString("latin1");
  const headers: Record<string, string> = {};
  let status = 200;
  for (const line of head.split("\r\n")) {
    const at = line.indexOf(":");
    if (at < 0) continue;
    const name = line.slice(0, at).trim().toLowerCase();
    const value = line.slice(at + 1).trim();
    if (name === "status") status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  res.writeHead(status, headers);
  res.end(split < 0 ? raw : raw.subarray(split + 4));
}

/** What the Git-over-HTTP side needs of the fake. */
export type GitSide = Pick<FakeGitLab, "projects" | "tokens" | "users" | "levelOf" | "repoRoot">;

const GIT_READ_SCOPES = ["api", "read_repository", "write_repository"];
const GIT_WRITE_SCOPES = ["api", "write_repository"];

/**
 * A request to `/<namespace>/<project>.git/<rest>` as GitLab answers it: Basic auth with
 * `oauth2:<OAuth token>` or any username with an access token (`read_repository`,
 * `write_repository` or `api`); a private project needs Reporter to download and Developer with a
 * write scope to push; a project the caller cannot see is a 404 once they are authenticated.
 */
export async function handleGit(fake: GitSide, req: IncomingMessage, raw: Buffer, res: ServerResponse, path: string, rest: string): Promise<void> {
  const project = fake.projects.find((p) => p.path_with_namespace.toLowerCase() === path.toLowerCase());
  const url = new URL(req.url ?? "/", "http://fake");
  const push = rest === "/git-receive-pack" || url.searchParams.get("service") === "git-receive-pack";
  const denied = (status: number, text: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
    res.end(`${text}\n`);
  };
  const challenge = { "www-authenticate": 'Basic realm="GitLab"' };
  const header = req.headers.authorization ?? "";
  let user: FakeUser | null = null;
  let scopes: string[] = [];
  if (/^basic /i.test(header)) {
    const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
    const at = decoded.indexOf(":");
    const username = at < 0 ? decoded : decoded.slice(0, at);
    const token = fake.tokens.get(at < 0 ? "" : decoded.slice(at + 1));
    // OAuth tokens go with the username `oauth2`; access tokens with any non-blank username.
    const fits = token && !token.revoked && username !== "" && (token.kind === "oauth" ? username === "oauth2" : true);
    if (!token || !fits || !token.scopes.some((s) => GIT_READ_SCOPES.includes(s)))
      return denied(
        401,
        "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, or improperly scoped.",
        challenge,
      );
    user = fake.users.find((u) => u.id === token.userId) ?? null;
    scopes = token.scopes;
  }
  const level = project ? fake.levelOf(project, user) : 0;
  if (!project || (project.visibility === "private" && level < AccessLevel.reporter)) {
    if (!user) return denied(401, "HTTP Basic: Access denied", challenge);
    return denied(404, "The project you were looking for could not be found or you don't have permission to view it.");
  }
  if (push) {
    if (!user) return denied(401, "HTTP Basic: Access denied", challenge);
    if (level < AccessLevel.developer || !scopes.some((s) => GIT_WRITE_SCOPES.includes(s)))
      return denied(403, "You are not allowed to push code to this project.");
  }
  return serveGit(req, raw, res, fake.repoRoot, `/${project.path_with_namespace}.git${rest}`, user?.username ?? null);
}
