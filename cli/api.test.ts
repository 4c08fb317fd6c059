/**
 * The `sparki` API commands as a user runs them: the real CLI as a child process against a real
 * local stack (dev/stack.ts: wrangler dev, Postgres, the cache) with a real runner process.
 * One stack for the whole file. Child processes are async: the stack's stores run in this process.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { render } from "ink-testing-library";
import { createElement } from "react";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { E2E, oneStepYml } from "../test/e2e/support.js";
import { ApiClient } from "./api.ts";
import { App } from "./tui/app.ts";
import { apiSource } from "./tui/source.ts";
import { sparkiBin } from "../dev/bins.ts";

// The bundled bin (dev/bins.ts, built by the node project's global setup): tsx costs 0.4 s of CPU a start.
const BIN = sparkiBin;
const e2e = new E2E();
const email = `cli-${Date.now()}@sparki.test`;
const password = "a long cli password";
let home: string;
let workspaceId: string;
let goodRepo: string;
let badRepo: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sparki` with its config in a temp XDG_CONFIG_HOME, optionally feeding stdin. */
function sparki(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SPARKI_")));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, XDG_CONFIG_HOME: home, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 170_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

const configFile = () => join(home, "sparki", "config.json");
const json = <T = any>(run: Run): T => {
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
};

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "sparki-cli-home-"));
  await e2e.start();
  // A user of our own (the E2E helper's user has no password we know), with one workspace.
  e2e.token = (await e2e.signup(email, password, "CLI")).accessToken;
  workspaceId = (await e2e.api("POST", "/v1/workspaces", { name: "CLI team" })).body.id;
  goodRepo = await e2e.gitRepo("good", {
    "package.json": JSON.stringify({ name: "good", version: "1.0.0" }),
    "sparki.yml": oneStepYml('for i in 1 2 3 4 5 6; do echo "\\033[32mline $i\\033[0m"; done'),
  });
  badRepo = await e2e.gitRepo("bad", {
    "package.json": JSON.stringify({ name: "bad", version: "1.0.0" }),
    "sparki.yml": oneStepYml("echo before the failure; exit 3"),
  });
  await e2e.runner("cli");
}, 240_000);

afterAll(async () => {
  await e2e.close();
  if (home) rmSync(home, { recursive: true, force: true });
}, 60_000);

describe("sparki against the local stack", () => {
  let projectId: string;
  let okBuild: string;

  it("login saves a long-lived API token in a 0600 file and picks the only workspace", async () => {
    const run = await sparki(["login", "--url", e2e.stack.apiUrl, "--email", email, "--password-stdin"], { input: `${password}\n` });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toContain(`as ${email}`);
    expect(statSync(configFile()).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "sparki")).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(readFileSync(configFile(), "utf8"));
    expect(saved).toMatchObject({ url: e2e.stack.apiUrl, workspaceId });
    expect(saved.token).toMatch(/^spk_/);
    expect(JSON.stringify(saved)).not.toContain(password);

    // Logging in again makes a new token and revokes the one it replaces.
    expect((await sparki(["login", "--email", email, "--password-stdin"], { input: password })).code).toBe(0);
    const again = JSON.parse(readFileSync(configFile(), "utf8"));
    expect(again.token).not.toBe(saved.token);
    const old = await fetch(`${e2e.stack.apiUrl}/v1/me`, { headers: { authorization: `Bearer ${saved.token}` } });
    expect(old.status).toBe(401);
  });

  it("whoami and workspaces show the user and the current workspace", async () => {
    const who = await sparki(["whoami"]);
    expect(who.code).toBe(0);
    expect(who.stdout).toContain(email);
    expect(json(await sparki(["whoami", "--json"])).user.email).toBe(email);

    const second = (await e2e.api("POST", "/v1/workspaces", { name: "Other team" })).body;
    const list = await sparki(["workspaces"]);
    expect(list.stdout).toMatch(new RegExp(`\\*\\s+${workspaceId}`));
    expect(list.stdout).toContain("Other team");
    expect(
      json<Array<{ id: string }>>(await sparki(["workspaces", "list", "--json"]))
        .map((w) => w.id)
        .sort(),
    ).toEqual([workspaceId, second.id].sort());
    expect((await sparki(["workspaces", "use", second.slug])).code).toBe(0);
    expect(JSON.parse(readFileSync(configFile(), "utf8")).workspaceId).toBe(second.id);
    expect((await sparki(["workspaces", "use", workspaceId])).code).toBe(0);
    expect(JSON.parse(readFileSync(configFile(), "utf8")).workspaceId).toBe(workspaceId);
  });

  it("projects create, list and show", async () => {
    const created = json(await sparki(["projects", "create", "--name", "good", "--git-url", goodRepo, "--json"]));
    projectId = created.id;
    expect(created).toMatchObject({ name: "good", workspaceId });
    const list = json(await sparki(["projects", "list", "--json"]));
    expect(list.items.map((p: { id: string }) => p.id)).toContain(projectId);
    const table = await sparki(["projects"]);
    expect(table.stdout).toMatch(/^ID\s+NAME/);
    expect(table.stdout).toContain(projectId);
    expect((await sparki(["projects", "show", projectId])).stdout).toContain(goodRepo);
  });

  it("builds trigger --follow prints the log in order, colours kept, and exits 0 on success", async () => {
    const run = await sparki(["builds", "trigger", "--project", "good", "--follow"]);
    expect(run.code, run.stderr + e2e.diagnostics()).toBe(0);
    const at = [1, 2, 3, 4, 5, 6].map((i) => run.stdout.indexOf(`\x1b[32mline ${i}\x1b[0m\n`));
    expect(at.every((p) => p >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(run.stdout.split("line 1\x1b").length).toBe(2); // printed once
    okBuild = /Build #\d+ queued: ([0-9a-f-]{36})/.exec(run.stderr)?.[1] ?? "";
    expect(okBuild).not.toBe("");

    // Without -f: the log so far, as text; -f on a finished build replays it and exits 0.
    const text = await sparki(["logs", okBuild]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("\x1b[32mline 6\x1b[0m\n");
    const replay = await sparki(["logs", okBuild, "-f", "--from", "1"]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toBe(text.stdout);

    const builds = json(await sparki(["builds", "list", "--project", projectId, "--status", "succeeded", "--json"]));
    expect(builds.items.map((b: { id: string }) => b.id)).toContain(okBuild);
    const show = json(await sparki(["builds", "show", okBuild, "--json"]));
    expect(show.status).toBe("succeeded");
    expect((await sparki(["builds", "show", okBuild])).stdout).toMatch(/status\s+succeeded/);
  }, 180_000);

  it("logs -f exits non-zero with one line when the build fails", async () => {
    const bad = json(await sparki(["projects", "create", "--name", "bad", "--git-url", badRepo, "--json"]));
    const queued = json(await sparki(["builds", "trigger", "--project", bad.id, "--json"]));
    const run = await sparki(["logs", queued.id, "-f"]);
    expect(run.code, run.stderr + e2e.diagnostics()).toBe(1);
    expect(run.stdout).toContain("before the failure\n");
    // The build's own reason ends the line.
    expect(run.stderr).toMatch(/^sparki: build failed: Job .+ ended failed with exit code \d+\.\n$/);
  }, 180_000);

  it("secrets set (stdin and --value), list and rm", async () => {
    expect((await sparki(["secrets", "set", "NPM_TOKEN", "--project", "good"], { input: "s3cret-value\n" })).code).toBe(0);
    expect((await sparki(["secrets", "set", "OTHER", "--project", projectId, "--value", "another-value"])).code).toBe(0);
    const list = json(await sparki(["secrets", "list", "--project", projectId, "--json"]));
    expect(list.items.map((s: { name: string }) => s.name).sort()).toEqual(["NPM_TOKEN", "OTHER"]);
    expect((await sparki(["secrets", "--project", "good"])).stdout).not.toContain("s3cret");
    expect((await sparki(["secrets", "rm", "NPM_TOKEN", "--project", projectId])).code).toBe(0);
    expect(json(await sparki(["secrets", "list", "--project", projectId, "--json"])).items.map((s: { name: string }) => s.name)).toEqual(["OTHER"]);
  });

  it("secrets set refuses a value too short to mask, before asking the API", async () => {
    const short = await sparki(["secrets", "set", "PIN", "--project", projectId, "--value", "123"]);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/^sparki: .*at least 4 characters/);
  });

  it("tokens create --scope read prints a token that reads but cannot write; tokens lists and removes it", async () => {
    const created = await sparki(["tokens", "create", "reader", "--scope", "read"]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^spk_/);
    expect(created.stderr).toContain("(read)");
    const env = { SPARKI_TOKEN: token };
    expect(json(await sparki(["projects", "--json"], { env })).items.length).toBeGreaterThan(0);
    const write = await sparki(["secrets", "set", "X", "--project", projectId, "--value", "abcdef"], { env });
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(/scope/);
    const reader = json(await sparki(["tokens", "--json"])).items.find((t: { name: string }) => t.name === "reader");
    expect(reader.scope).toBe("read");
    expect((await sparki(["tokens", "rm", reader.id])).code).toBe(0);
    expect((await sparki(["whoami"], { env })).code).toBe(3);
  });

  it("runners --json parses (the shared pool's runner is not a workspace runner)", async () => {
    expect(json(await sparki(["runners", "--json"]))).toEqual({ items: [] });
  });

  it("runners rm revokes a workspace runner; workspaces set-shared-runners sets the policy", async () => {
    const reg = await e2e.api("POST", `/v1/workspaces/${workspaceId}/runner-tokens`, { name: "cli" });
    const registered = await fetch(`${e2e.stack.apiUrl}/v1/runner/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: reg.body.token, name: "cli-box", labels: ["linux"], version: "test" }),
    }).then((r) => r.json() as Promise<{ runnerId: string; runnerToken: string }>);
    expect(json(await sparki(["runners", "ls", "--json"])).items.map((r: { id: string }) => r.id)).toEqual([registered.runnerId]);
    expect((await sparki(["runners", "rm", registered.runnerId])).stdout).toContain(`Revoked runner ${registered.runnerId}`);
    expect(json(await sparki(["runners", "--json"]))).toEqual({ items: [] });
    const claim = await fetch(`${e2e.stack.apiUrl}/v1/runner/claim`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${registered.runnerToken}` },
      body: JSON.stringify({ capacity: 1 }),
    });
    expect(claim.status).toBe(401);

    expect(json(await sparki(["workspaces", "set-shared-runners", "never", "--json"])).sharedRunners).toBe("never");
    const bad = await sparki(["workspaces", "set-shared-runners", "sometimes"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect((await sparki(["workspaces", "set-shared-runners", "no-secrets"])).stdout).toContain("no-secrets");
  });

  it("an unknown build is exit 4, a bad token exit 3, each with one line", async () => {
    const unknown = await sparki(["builds", "show", "00000000-0000-4000-8000-000000000000"]);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    expect(unknown.stderr).toMatch(/^sparki: /);
    expect((await sparki(["logs", "00000000-0000-4000-8000-000000000000", "-f"])).code).toBe(4);
    expect((await sparki(["builds", "show", "not-a-build"])).code).toBe(4);

    const bad = await sparki(["whoami"], { env: { SPARKI_TOKEN: "spk_not_a_real_token" } });
    expect(bad.code).toBe(3);
    expect(bad.stdout).toBe("");
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/^sparki: .*sparki login/);
  });

  it("the TUI shows the workspace's projects and builds, and a build's log, from the stack", async () => {
    const { token } = JSON.parse(readFileSync(configFile(), "utf8")) as { token: string };
    const source = apiSource(new ApiClient({ url: e2e.stack.apiUrl, token }), async () => undefined);
    const plain = (f: string | undefined) => (f ?? "").replace(/\x1b\[[0-9;]*m/g, "");
    const overview = render(createElement(App, { source, workspaceId, configFile: configFile() }));
    try {
      await vi.waitFor(() => expect(plain(overview.lastFrame())).toMatch(/workspace CLI team[\s\S]*❯ bad[\s\S]*#1\s+✗ failed/), {
        timeout: 15_000,
        interval: 100,
      });
    } finally {
      overview.unmount();
    }
    const logs = render(createElement(App, { source, workspaceId, configFile: configFile(), initialTab: "logs", initialBuildId: okBuild }));
    try {
      await vi.waitFor(() => expect(plain(logs.lastFrame())).toMatch(/Log\s+✓ succeeded[\s\S]*line 6/), { timeout: 15_000, interval: 100 });
    } finally {
      logs.unmount();
    }
  }, 60_000);

  it("password changes it: the old one no longer logs in, the saved API token keeps working", async () => {
    const weak = await sparki(["password", "--password-stdin"], { input: `${password}\nqwertyuiop\n` });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/common passwords/);
    const changed = await sparki(["password", "--password-stdin"], { input: `${password}\nthe new cli password\n` });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain("Password changed");
    expect((await sparki(["whoami"])).code).toBe(0);
    const login = (pass: string) =>
      fetch(`${e2e.stack.apiUrl}/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: pass }),
      });
    expect((await login(password)).status).toBe(401);
    expect((await login("the new cli password")).status).toBe(200);
  });

  it("logout revokes the token and removes the file", async () => {
    const token = JSON.parse(readFileSync(configFile(), "utf8")).token as string;
    const run = await sparki(["logout"]);
    expect(run).toMatchObject({ code: 0, stdout: "Logged out.\n" });
    expect(existsSync(configFile())).toBe(false);
    expect((await sparki(["whoami"], { env: { SPARKI_TOKEN: token, SPARKI_URL: e2e.stack.apiUrl } })).code).toBe(3);
    expect((await sparki(["whoami", "--url", e2e.stack.apiUrl])).code).toBe(3);
  });
});
