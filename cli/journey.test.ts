/**
 * A newcomer's whole journey against a real local stack (dev/stack.ts) with a real runner: sign
 * up, create a workspace, create a project from a local repository, build and watch the log,
 * deploy and roll back; first with the `sparki` CLI as child processes, then in the TUI (Ink,
 * driven with keys). One stack for the file. Child processes are async: the stack's stores run
 * in this process.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { render } from "ink-testing-library";
import { createElement } from "react";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Deployment } from "../core/contracts/deployments.ts";
import { E2E, until } from "../test/e2e/support.js";
import { typeKeys } from "../test/ink-keys.js";
import { ApiClient } from "./api.ts";
import { App } from "./tui/app.ts";
import { apiSource } from "./tui/source.ts";
import { sparkiBin } from "../dev/bins.ts";

const BIN = sparkiBin;
const e2e = new E2E();
const email = `journey-${Date.now()}@sparki.test`;
const password = "a newcomer's password";
let home: string;
let cliRepo: string;
let tuiRepo: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sparki(args: string[], opts: { input?: string; cwd?: string } = {}): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SPARKI_")));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...env, XDG_CONFIG_HOME: home }, stdio: ["pipe", "pipe", "pipe"] });
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

/**
 * Runs `sparki` on a terminal (a pty from util-linux `script`), answering each prompt (a line
 * of output ending in ": ") with the next of `answers` once it shows.
 */
function sparkiOnTty(args: string[], answers: string[], xdgHome: string): Promise<{ code: number; output: string }> {
  const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SPARKI_")));
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qefc", [process.execPath, BIN, ...args].map(quote).join(" "), "/dev/null"], {
      env: { ...env, XDG_CONFIG_HOME: xdgHome },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let asked = 0;
    const onOutput = (d: Buffer) => {
      output += d.toString();
      const prompts = output.match(/(Email|Password[^:\n]*): /g)?.length ?? 0;
      while (asked < prompts && asked < answers.length) child.stdin.write(`${answers[asked++]}\r`);
    };
    child.stdout.on("data", onOutput);
    child.stderr.on("data", onOutput);
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

const configFile = () => join(home, "sparki", "config.json");
const saved = () => JSON.parse(readFileSync(configFile(), "utf8")) as { url: string; token: string; workspaceId?: string };
const json = <T = any>(run: Run): T => {
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
};

/** A static site: the build writes dist/index.html, deployed to one sparki-static stage. */
const siteYml = `language: javascript
commands:
  install: null
  lint: null
  test: null
  build: "mkdir -p dist && echo building the site && echo '<h1>hi</h1>' > dist/index.html"
outputDir: dist
deployments:
  - stage: production
    platform: sparki-static
`;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "sparki-journey-home-"));
  await e2e.start();
  const files = (name: string) => ({ "package.json": JSON.stringify({ name, version: "1.0.0" }), "sparki.yml": siteYml });
  cliRepo = await e2e.gitRepo("cli-site", files("cli-site"));
  tuiRepo = await e2e.gitRepo("tui-site", files("tui-site"));
  await e2e.runner("journey");
}, 240_000);

afterAll(async () => {
  await e2e.close();
  if (home) rmSync(home, { recursive: true, force: true });
}, 60_000);

describe("a newcomer's journey", () => {
  it("in the CLI: signup, workspaces create, projects create from a folder, build, deploy, rollback", async () => {
    const signup = await sparki(["signup", "--url", e2e.stack.apiUrl, "--email", email, "--name", "New Comer", "--password-stdin"], { input: `${password}\n` });
    expect(signup.code, signup.stderr).toBe(0);
    expect(signup.stdout).toContain(`Signed up to ${e2e.stack.apiUrl} as ${email}`);
    expect(signup.stderr).toContain("next: sparki workspaces create NAME");
    expect(statSync(configFile()).mode & 0o777).toBe(0o600);
    expect(saved().token).toMatch(/^spk_/);
    expect(readFileSync(configFile(), "utf8")).not.toContain(password);
    expect(json(await sparki(["whoami", "--json"])).user).toMatchObject({ email, name: "New Comer" });

    // Signup does not say whether an email is registered: the same email with another password
    // fails only at the login that follows (exit 3, a rejected login; one line); a short or
    // common password is refused before any account exists.
    const again = await sparki(["signup", "--email", email, "--password-stdin"], { input: `another ${password}` });
    expect(again.code, again.stderr).toBe(3);
    expect(again.stderr).toMatch(/^sparki: .*(email or password|credentials).*\n$/i);
    expect((await sparki(["signup", "--email", `short-${email}`, "--password-stdin"], { input: "short" })).stderr).toMatch(/at least 10 characters/);
    expect((await sparki(["signup", "--email", `common-${email}`, "--password-stdin"], { input: "password123" })).stderr).toMatch(/common passwords/);

    const none = await sparki(["projects"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("sparki: you have no workspace yet; create one: 'sparki workspaces create NAME'\n");
    const created = await sparki(["workspaces", "create", "Journey team"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^Created workspace Journey team \(journey-team[^,]*, [0-9a-f-]{36}\); it is the current one\n$/);
    const workspaceId = saved().workspaceId;
    expect(json<Array<{ id: string; role: string }>>(await sparki(["workspaces", "list", "--json"]))).toEqual([
      expect.objectContaining({ id: workspaceId, role: "owner" }),
    ]);
    // A second one is not made current by itself.
    const other = json(await sparki(["workspaces", "create", "Side project", "--json"]));
    expect(other.name).toBe("Side project");
    expect(saved().workspaceId).toBe(workspaceId);

    // A relative folder becomes the repository's absolute path.
    const project = json(await sparki(["projects", "create", "--name", "cli-site", "--git-url", "./cli-site", "--json"], { cwd: dirname(cliRepo) }));
    expect(project).toMatchObject({ name: "cli-site", gitUrl: cliRepo, workspaceId });

    const build = await sparki(["builds", "trigger", "--project", "cli-site", "--follow"]);
    expect(build.code, build.stderr + e2e.diagnostics()).toBe(0);
    expect(build.stdout).toContain("building the site\n");
    const buildId = /Build #\d+ queued: ([0-9a-f-]{36})/.exec(build.stderr)?.[1] ?? "";

    const first = await sparki(["deploy", buildId, "--follow"]);
    expect(first.code, first.stderr).toBe(0);
    const second = Deployment.parse(json(await sparki(["deploy", buildId, "--json"]))).id;
    await until("the second deployment to succeed", async () => json(await sparki(["deployments", "show", second, "--json"])).status === "succeeded", 60_000);
    const rolled = await sparki(["rollback", second, "--follow"]);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(json(await sparki(["deployments", "show", second, "--json"])).status).toBe("rolled_back");
  }, 240_000);

  it("in the TUI: n creates a project from a folder, b builds it with its live log, d deploys, r rolls back", async () => {
    const { token, workspaceId } = saved();
    const source = apiSource(new ApiClient({ url: e2e.stack.apiUrl, token }), async () => undefined);
    const app = render(createElement(App, { source, workspaceId, configFile: configFile(), cwd: dirname(tuiRepo) }));
    const screen = () => (app.lastFrame() ?? "").replace(/\x1b\[[0-9;]*m/g, "");
    const until = (what: string | RegExp, timeout = 20_000) =>
      vi.waitFor(() => (typeof what === "string" ? expect(screen()).toContain(what) : expect(screen()).toMatch(what)), { timeout, interval: 100 });
    const press = (...keys: string[]) => typeKeys(app.stdin, ...keys);
    try {
      await until("workspace Journey team");
      // The project list arrives after the overview's effects ran, its key handler among them:
      // the workspace's name alone shows on the overview's first render, before that handler.
      await until("❯ cli-site");
      await press("n");
      await until("New project");
      await press("\t", "./tui-site", "\r");
      await until("created project tui-site; b builds it");
      await until("❯ tui-site");
      await press("b");
      // The live log of the new build, to the end.
      await until(/Log\s+✓ succeeded[\s\S]*building the site/, 120_000);

      await press("5");
      await until(/d deploys build #1 \(main [0-9a-f]{7}\)/);
      for (let i = 0; i < 2; i++) {
        await press("d");
        await until("Deploy build #1");
        await press("y");
        await until("deploy: now");
        await vi.waitFor(() => expect(screen().match(/✓ succeeded\s+main\s+[0-9a-f]{7}\s+manual/g) ?? [], screen()).toHaveLength(i + 1), {
          timeout: 60_000,
          interval: 200,
        });
      }
      // The green build's own (push) deployment runs too; the newest (top, selected) must be done.
      const rows = () =>
        screen()
          .split("\n")
          .filter((l) => /^[❯ ] [0-9a-f]{8} {2}/.test(l));
      await vi.waitFor(
        () => {
          expect(rows()[0]).toMatch(/^❯ [0-9a-f]{8}\s+✓ succeeded/);
          expect(rows().filter((r) => /pending|deploying|verifying/.test(r))).toEqual([]);
        },
        { timeout: 60_000, interval: 200 },
      );
      await press("r");
      await until("Roll back this deployment?");
      await press("y");
      await until("rollback: now");
      await until(/❯ [0-9a-f]{8}\s+↺ rolled_back/, 60_000);
    } finally {
      app.unmount();
    }
  }, 240_000);

  it("signup on a terminal asks for the password twice and refuses two that differ", async () => {
    const ttyHome = mkdtempSync(join(tmpdir(), "sparki-journey-tty-"));
    try {
      const ttyEmail = `tty-${email}`;
      const differ = await sparkiOnTty(["signup", "--url", e2e.stack.apiUrl, "--email", ttyEmail], ["first password", "second password"], ttyHome);
      expect(differ.code, differ.output).toBe(2);
      expect(differ.output).toMatch(/Password \(10 characters or more\): [\s\S]*Password again: [\s\S]*sparki: the two passwords differ; nothing was created/);
      expect(differ.output).not.toContain("first password");
      const ok = await sparkiOnTty(["signup", "--url", e2e.stack.apiUrl, "--email", ttyEmail], ["same password", "same password"], ttyHome);
      expect(ok.code, ok.output).toBe(0);
      expect(ok.output).toContain(`Signed up to ${e2e.stack.apiUrl} as ${ttyEmail}`);
      expect(JSON.parse(readFileSync(join(ttyHome, "sparki", "config.json"), "utf8")).token).toMatch(/^spk_/);
    } finally {
      rmSync(ttyHome, { recursive: true, force: true });
    }
  }, 60_000);
});
