/**
 * Private clones from GitLab with a project access token, by the real git client against the
 * fake's `git http-backend`: what a runner will do with the token the job carries. The token goes
 * in an `http.extraHeader` (Basic, any username, as GitLab documents for access tokens), never in
 * the remote URL, so it is not written to the checkout's .git/config.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessLevel, FakeGitLab, type FakeProject } from "../../../test/fakes/gitlab.ts";

let gl: FakeGitLab;
let app: FakeProject;
let work: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs git with no prompts, no credential helpers and no user config. */
function git(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      "git",
      ["-c", "credential.helper=", ...args],
      { cwd, env: { PATH: process.env.PATH ?? "", HOME: cwd, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1" } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const basic = (username: string, token: string): string => `http.extraHeader=Authorization: Basic ${Buffer.from(`${username}:${token}`).toString("base64")}`;
let n = 0;
async function clone(path: string, auth: string | null): Promise<Run & { dir: string }> {
  n += 1;
  const dir = join(work, `checkout-${n}`);
  const run = await git([...(auth ? ["-c", auth] : []), "clone", "--quiet", `${gl.url}/${path}.git`, dir], work);
  return { ...run, dir };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "gitlab-clone-"));
  gl = new FakeGitLab();
  await gl.start();
  app = await gl.addProject({ path: "acme/app", visibility: "private", files: { "package.json": '{"name":"app"}\n', "src/index.js": "console.log(1)\n" } });
});

afterAll(async () => {
  await gl.close();
  await rm(work, { recursive: true, force: true });
});

describe("a private project", () => {
  it("clones with a project access token (read_repository), and the token stays out of .git/config", async () => {
    const token = gl.addProjectToken(app, { scopes: ["read_repository"], level: AccessLevel.reporter });
    const c = await clone("acme/app", basic("sparki", token));
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    expect(await readFile(join(c.dir, "package.json"), "utf8")).toBe('{"name":"app"}\n');
    expect((await git(["rev-parse", "HEAD"], c.dir)).stdout.trim()).toBe(app.head);
    expect(await readFile(join(c.dir, ".git", "config"), "utf8")).not.toContain(token);
  });

  it("fetches a later commit of another branch with the same token", async () => {
    const token = gl.addProjectToken(app, { scopes: ["read_repository"] });
    const c = await clone("acme/app", basic("x", token));
    const sha = await gl.commit(app, "feature", { "src/new.js": "new\n" });
    const f = await git(["-c", basic("x", token), "fetch", "--quiet", "origin", sha], c.dir);
    expect(f.code).toBe(0);
    expect((await git(["cat-file", "-t", sha], c.dir)).stdout.trim()).toBe("commit");
  });

  it("refuses no token, a wrong token, a revoked one and one without a repository scope", async () => {
    expect((await clone("acme/app", null)).code).not.toBe(0);
    const wrong = await clone("acme/app", basic("sparki", "glpat-wrong"));
    expect(wrong.code).not.toBe(0);
    // git meets the 401 and, with prompts off, cannot ask for other credentials.
    expect(wrong.stderr).toMatch(/Authentication failed|could not read Username/);
    const revoked = gl.addProjectToken(app, { scopes: ["read_repository"] });
    gl.revoke(revoked);
    expect((await clone("acme/app", basic("sparki", revoked))).code).not.toBe(0);
    const apiOnly = gl.addProjectToken(app, { scopes: ["read_api"] });
    expect((await clone("acme/app", basic("sparki", apiOnly))).code).not.toBe(0);
  });

  it("a token of another project cannot see this one, and a guest's cannot download code", async () => {
    const other = await gl.addProject({ path: "acme/other" });
    const otherToken = gl.addProjectToken(other, { scopes: ["read_repository"] });
    const c = await clone("acme/app", basic("sparki", otherToken));
    expect(c.code).not.toBe(0);
    expect(c.stderr).toMatch(/not found|could not be found|404/i);
    const guest = gl.addProjectToken(app, { scopes: ["read_repository"], level: AccessLevel.guest });
    expect((await clone("acme/app", basic("sparki", guest))).code).not.toBe(0);
  });

  it("a read_repository token cannot push", async () => {
    const token = gl.addProjectToken(app, { scopes: ["read_repository"] });
    const c = await clone("acme/app", basic("sparki", token));
    await git(["-c", "user.email=a@b.c", "-c", "user.name=a", "commit", "--allow-empty", "-qm", "x"], c.dir);
    const p = await git(["-c", basic("sparki", token), "push", "origin", "HEAD:main"], c.dir);
    expect(p.code).not.toBe(0);
    expect(p.stderr).toMatch(/403|not allowed/);
  });

  it("an OAuth token clones only with the username oauth2", async () => {
    const jane = gl.addUser({ username: "jane" });
    gl.addMember(app, jane, AccessLevel.developer);
    const oauth = gl.issue(jane.id, ["read_repository"], "oauth");
    expect((await clone("acme/app", basic("oauth2", oauth))).code).toBe(0);
    expect((await clone("acme/app", basic("jane", oauth))).code).not.toBe(0);
  });
});

it("a public project clones without a token", async () => {
  const lib = await gl.addProject({ path: "oss/lib", visibility: "public" });
  const c = await clone("oss/lib", null);
  expect(c.code).toBe(0);
  expect((await git(["rev-parse", "HEAD"], c.dir)).stdout.trim()).toBe(lib.head);
});
