/**
 * The local stack (`npm run dev`'s, with its own runner) never strands anyone (issue 15 item 4):
 * started again from the same state with its first address held by another server, its runner
 * follows the new address; a runner that dies is said loudly and restarted; a runner whose token
 * the stack refuses is registered again. Its jobs run under a path with no dot segment, and a
 * repository whose package.json does not parse gets a failed build naming the JSON error.
 */
import { createServer, type Server } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixedStackPort } from "../../dev/fixed-port.js";
import { startStack } from "../../dev/stack.js";
import { E2E, oneStepYml, until } from "./support.js";

const e2e = new E2E();
const stackLog: string[] = [];
let stateDir: string;
let held: Server | undefined;

/** Starts the stack from the test's state directory (keeping its database, secrets and runner.json). */
async function startLocalStack(apiPort?: number): Promise<void> {
  stackLog.length = 0;
  e2e.stack = await startStack({
    stateDir,
    runner: true,
    ...(apiPort !== undefined ? { apiPort } : {}),
    vars: { SHARED_RUNNER_TOKEN: e2e.sharedToken, LOG_LEVEL: "warn" },
    log: (line) => {
      stackLog.push(line);
      e2e.stackLog.push(line);
    },
  });
}

/** Builds the project and waits for its end; the build with its log. */
async function build(projectId: string): Promise<{ build: any; log: string }> {
  const id = await e2e.trigger(projectId);
  const done = await e2e.waitForEnd(id, 120_000);
  return { build: done, log: (await e2e.bytes(`/v1/builds/${id}/logs.txt`)).body.toString() };
}

let pwdProject: string;

beforeAll(async () => {
  // What E2E.start does, but with a state directory the test starts the stack from three times.
  e2e.work = mkdtempSync(join(tmpdir(), "sparki-local-stack-"));
  stateDir = join(e2e.work, "state");
  mkdirSync(stateDir);
  await startLocalStack(await fixedStackPort());
  e2e.token = (await e2e.signup(`local-${Date.now()}@sparki.test`, "local stack password", "Local")).accessToken;
  e2e.workspaceId = (await e2e.api("POST", "/v1/workspaces", { name: "Local" })).body.id;
  const repo = await e2e.gitRepo("pwd", { "package.json": JSON.stringify({ name: "pwd", version: "1.0.0" }), "sparki.yml": oneStepYml("pwd") });
  pwdProject = (await e2e.project("pwd", repo)).id;
}, 180_000);

afterAll(async () => {
  held?.close();
  await e2e.close();
}, 60_000);

/** The folder the build's `pwd` step printed. */
const printedDir = (log: string) => log.split("\n").find((line) => line.startsWith("/") && line.endsWith("/src"));

describe("the local stack", () => {
  it("runs jobs under a path with no dot segment", async () => {
    const { build: done, log } = await build(pwdProject);
    expect(done.status, log).toBe("succeeded");
    const dir = printedDir(log);
    expect(dir, log).toBeDefined();
    expect(dir?.split("/").filter((segment) => segment.startsWith("."))).toEqual([]);
  }, 150_000);

  it("fails the build of a repository whose package.json is not JSON, naming the error", async () => {
    const repo = await e2e.gitRepo("broken-json", { "package.json": '{"name": "broken",\n' });
    const project = await e2e.project("broken-json", repo);
    const { build: done, log } = await build(project.id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/^nothing to run: package\.json is not valid JSON \(.+\); fix it so Sparki can read it$/);
    expect(log).toMatch(/sparki: nothing to run: package\.json is not valid JSON \(/);
    expect(done.jobs).toHaveLength(1);
  }, 150_000);

  it("started again with its first address held by another server, still builds: the runner follows the new address", async () => {
    const first = new URL(e2e.stack.apiUrl);
    await e2e.stack.close();
    // Another server on the first stack's port, refusing everything as another stack would.
    held = createServer((_req, res) => res.writeHead(401, { "content-type": "application/problem+json" }).end('{"title":"Unauthorized","status":401}'));
    await new Promise<void>((done) => held?.listen(Number(first.port), "127.0.0.1", done));
    await startLocalStack();
    expect(e2e.stack.apiUrl).not.toBe(first.origin);
    const config = JSON.parse(readFileSync(join(stateDir, "runner.json"), "utf8")) as { url: string };
    expect(config.url).toBe(first.origin);

    const { build: done, log } = await build(pwdProject);
    expect(done.status, log).toBe("succeeded");
    // It followed the address it was given, with the token it had.
    expect(stackLog.join("\n")).not.toMatch(/stopped|registering it again/);
  }, 180_000);

  it("says so loudly when its runner stops, and restarts it", async () => {
    const pid = e2e.stack.runner?.pid();
    expect(pid).toBeDefined();
    process.kill(-(pid as number), "SIGKILL");
    await until("the stack to say its runner stopped", () => stackLog.some((l) => l.includes("!!! the local runner stopped (signal SIGKILL)")), 10_000);
    // Back: a job offered now must not go to the killed runner's poll, still open at the
    // dispatcher, and wait for that lease to run out (the runner ends it before it says it started).
    const started = stackLog.filter((l) => l.includes("runner started")).length;
    await until("the runner to be back", () => stackLog.filter((l) => l.includes("runner started")).length > started || undefined, 20_000);
    expect(e2e.stack.runner?.pid()).not.toBe(pid);
    const { build: done, log } = await build(pwdProject);
    expect(done.status, log).toBe("succeeded");
  }, 180_000);

  it("registers its runner again when the stack refuses the runner's token", async () => {
    await e2e.stack.close();
    const file = join(stateDir, "runner.json");
    const config = JSON.parse(readFileSync(file, "utf8")) as { runnerToken: string };
    writeFileSync(file, JSON.stringify({ ...config, runnerToken: "srn_not-a-token-this-stack-made" }), { mode: 0o600 });
    await startLocalStack();
    const { build: done, log } = await build(pwdProject);
    expect(done.status, `${log}\n${stackLog.join("\n")}`).toBe("succeeded");
    expect(stackLog.join("\n")).toMatch(/rejected this runner's token[\s\S]*registering it again and restarting it/);
    expect((JSON.parse(readFileSync(file, "utf8")) as { runnerToken: string }).runnerToken).not.toBe("srn_not-a-token-this-stack-made");
  }, 180_000);
});
