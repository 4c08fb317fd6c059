/**
 * Git's smart HTTP protocol for the GitHub fake: a request for `/{owner}/{repo}.git/...` is handed
 * to `git http-backend` (CGI, https://git-scm.com/docs/git-http-backend) over a bare repository on
 * disk, so a real `git clone` of the fake works. Fetching only: a push (receive-pack) is refused.
 */
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import { basename, dirname, join } from "node:path";

let backend: string | null = null;
/** The http-backend program of the installed git (`git --exec-path`). */
function httpBackend(): string {
  backend ??= join(execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim(), "git-http-backend");
  return backend;
}

/** Runs http-backend for `rest` ("/info/refs", "/git-upload-pack") of the bare repository at `gitDir`. */
export function serveGit(gitDir: string, rest: string, query: string, req: IncomingMessage, body: Buffer, res: ServerResponse, user: string): void {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: dirname(gitDir),
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: `/${basename(gitDir)}${rest}`,
    QUERY_STRING: query,
    REQUEST_METHOD: req.method ?? "GET",
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    CONTENT_LENGTH: String(body.length),
    REMOTE_USER: user,
    REMOTE_ADDR: "127.0.0.1",
    // The fake runs as whoever owns the test's temporary repositories.
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "safe.directory",
    GIT_CONFIG_VALUE_0: "*",
  };
  if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = String(req.headers["content-encoding"]);
  if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);
  const child = spawn(httpBackend(), [], { env, stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.stderr.on("data", (c: Buffer) => err.push(c));
  child.stdin.on("error", () => {});
  // http-backend may exit before reading all of its input (a refused or finished request); the
  // pipe then breaks, which is no error of the request's.
  child.stdin.on("error", () => undefined);
  child.stdin.end(body);
  child.on("close", () => {
    const all = Buffer.concat(out);
    const split = all.indexOf("\r\n\r\n");
    if (split < 0) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`git http-backend failed: ${Buffer.concat(err).toString("utf8")}`);
      return;
    }
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of all.subarray(0, split).toString("latin1").split("\r\n")) {
      const i = line.indexOf(":");
      if (i < 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    res.end(all.subarray(split + 4));
  });
}
