/**
 * Install once per build (issue 14 item 1), on the real local stack with a real runner: a one-app
 * npm build (install, lint, test, build) on one runner runs its install once, and its lint, test
 * and build jobs find the install's node_modules in the build's folder; on a runner taking two
 * jobs at once, the job that finds the folder held restores the install job's result from the
 * build-scoped entry instead of installing. Asserted on the build's steps and log, not on time.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, type RunnerProcess } from "./support.js";

const e2e = new E2E();
const npmEnv = { npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
let home: string;
let marks: string;
/** A local package as npm packs it: npm copies it into node_modules (a file: folder would be a symlink). */
let helper: Buffer;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "sparki-once-home-"));
  marks = mkdtempSync(join(tmpdir(), "sparki-once-marks-"));
  const dir = mkdtempSync(join(tmpdir(), "sparki-once-helper-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "helper", version: "1.0.0", main: "index.js" }));
  writeFileSync(join(dir, "index.js"), 'module.exports = "hello from helper";\n');
  execFileSync("npm", ["pack", "--silent"], { cwd: dir, env: { ...process.env, ...npmEnv } });
  helper = readFileSync(join(dir, "helper-1.0.0.tgz"));
  rmSync(dir, { recursive: true, force: true });
  await e2e.start();
}, 180_000);

afterAll(async () => {
  await e2e.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(marks, { recursive: true, force: true });
}, 60_000);

/** An npm app whose install leaves node_modules/helper (a local package) and says so in the log. */
function app(lint: string, test: string): Record<string, string | Buffer> {
  const integrity = `sha512-${createHash("sha512").update(helper).digest("base64")}`;
  return {
    "package.json": JSON.stringify({
      name: "once",
      version: "1.0.0",
      private: true,
      scripts: {
        postinstall: "echo INSTALL-RAN",
        lint,
        test,
        build: "mkdir -p dist && node -e \"require('fs').writeFileSync('dist/index.html', require('helper'))\"",
      },
      dependencies: { helper: "file:helper-1.0.0.tgz" },
    }),
    "package-lock.json": JSON.stringify({
      name: "once",
      version: "1.0.0",
      lockfileVersion: 3,
      requires: true,
      packages: {
        "": { name: "once", version: "1.0.0", dependencies: { helper: "file:helper-1.0.0.tgz" } },
        "node_modules/helper": { version: "1.0.0", resolved: "file:helper-1.0.0.tgz", integrity },
      },
    }),
    "helper-1.0.0.tgz": helper,
  };
}

async function build(projectId: string): Promise<{ build: any; log: string }> {
  const id = await e2e.trigger(projectId);
  const done = await e2e.waitForEnd(id);
  const log = (await e2e.bytes(`/v1/builds/${id}/logs.txt`)).body.toString();
  expect(done.status, `${log}\n${e2e.diagnostics()}`).toBe("succeeded");
  return { build: done, log };
}

/** Each steps job's install step status, by the job's last step name. */
function installSteps(build: any): Record<string, string> {
  const out: Record<string, string> = {};
  for (const job of build.jobs.filter((j: any) => j.kind === "steps")) {
    const install = job.steps.find((s: any) => s.name === "install");
    out[job.steps.at(-1).name] = install?.status;
  }
  return out;
}

const count = (text: string, line: string) => text.split("\n").filter((l) => l.trim() === line).length;

describe("install once per build", () => {
  let runner: RunnerProcess;

  it("runs a one-app build's install once on one runner", async () => {
    // Sandboxed, as runners are by default: the steps' home is in the build folder too.
    runner = await e2e.runner("once", { env: { HOME: home, ...npmEnv }, sandbox: true });
    const repo = await e2e.gitRepo("once", app("node -e \"require('helper')\" && echo lint ok", "node -e \"console.log(require('helper'))\""));
    const project = await e2e.project("once", repo);
    const { build: done, log } = await build(project.id);
    expect(installSteps(done), log).toEqual({ install: "succeeded", lint: "skipped", test: "skipped", build: "skipped" });
    expect(count(log, "INSTALL-RAN"), log).toBe(1);
    expect(count(log, "sparki: install skipped: this build's install already ran in this folder on this runner")).toBe(3);
    // The later jobs used the install's node_modules.
    expect(log).toContain("lint ok");
    expect(log).toContain("hello from helper");
    // The plan job's checkout served the install job.
    expect(log).toMatch(/sparki: reusing this build's checkout of [0-9a-f]{12} from an earlier job on this runner/);
    await runner.stop();
  }, 240_000);

  it("restores the install job's result for a job that cannot have the build's folder", async () => {
    runner = await e2e.runner("twice", { env: { HOME: home, MARKS: marks, ...npmEnv }, concurrency: 2 });
    // lint and test each wait for the other to start: they run at once, in two folders.
    const meet = (me: string, other: string) =>
      `touch "$MARKS/${me}" && i=0 && while [ ! -f "$MARKS/${other}" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done && node -e "console.log('${me}', require('helper'))"`;
    const repo = await e2e.gitRepo("twice", app(meet("lint", "test"), meet("test", "lint")));
    const project = await e2e.project("twice", repo);
    const { build: done, log } = await build(project.id);
    expect(readdirSync(marks).sort()).toEqual(["lint", "test"]);
    expect(count(log, "INSTALL-RAN"), log).toBe(1);
    expect(log).toMatch(/sparki: saved install \S+\/build-[^/\s]+\/deps-npm-[0-9a-f]{64} \(to branch:main/);
    expect(log).toMatch(/sparki: restored install \S+\/build-[^/\s]+\/deps-npm-[0-9a-f]{64} \(exact key, from branch:main/);
    expect(count(log, "sparki: install skipped: restored the result of this build's install job")).toBe(1);
    expect(log).toContain("lint hello from helper");
    expect(log).toContain("test hello from helper");
    expect(Object.values(installSteps(done)).filter((s) => s === "skipped")).toHaveLength(3);
    await runner.stop();
  }, 240_000);
});
