/**
 * End to end on the real local stack: `wrangler dev` running the API and the Durable Objects,
 * Postgres (PGlite, or DATABASE_URL), the cache, a real `sparki-runner` process in the shared
 * pool, and a git repository made here. A build triggered through the API is planned and run by
 * the runner, and a WebSocket viewer sees every line in order.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startStack, type Stack } from "../../dev/stack.js";
import { until } from "../until.ts";
import { runnerBundleBin } from "../../dev/bins.ts";

const sharedToken = `e2e-shared-${crypto.randomUUID()}`;
let stack: Stack;
let work: string;
let runner: ChildProcess;
let runnerOutput = "";
let token: string;
let workspaceId: string;

async function api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A git repository with the given files, committed on `main`. */
function gitRepo(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "e2e",
    GIT_AUTHOR_EMAIL: "e2e@sparki.test",
    GIT_COMMITTER_NAME: "e2e",
    GIT_COMMITTER_EMAIL: "e2e@sparki.test",
  };
  execFileSync("git", ["init", "--quiet", "--initial-branch=main", dir], { env });
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  execFileSync("git", ["add", "-A"], { cwd: dir, env });
  execFileSync("git", ["commit", "--quiet", "-m", "init"], { cwd: dir, env });
  return dir;
}

const runnerBin = runnerBundleBin;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "sparki-e2e-"));
  stack = await startStack({
    stateDir: join(work, "state"),
    databaseUrl: process.env.DATABASE_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    vars: { SHARED_RUNNER_TOKEN: sharedToken, LOG_LEVEL: "warn" },
  });
  const config = join(work, "runner.json");
  // Not execFileSync: the stack's stores run in this process and must keep answering.
  await promisify(execFile)(process.execPath, [
    runnerBin,
    "register",
    "--url",
    stack.apiUrl,
    "--token",
    sharedToken,
    "--name",
    "e2e",
    "--labels",
    "linux",
    "--config",
    config,
  ]);
  runner = spawn(process.execPath, [runnerBin, "run", "--config", config, "--work-dir", join(work, "jobs")], { stdio: ["ignore", "pipe", "pipe"] });
  runner.stdout?.on("data", (d: Buffer) => (runnerOutput += d.toString()));
  runner.stderr?.on("data", (d: Buffer) => (runnerOutput += d.toString()));

  const email = `e2e-${Date.now()}@sparki.test`;
  // Signup answers 202 with no tokens (the same for a registered email); the session comes from login.
  await api("POST", "/v1/auth/signup", { email, password: "end to end password", name: "E2E" });
  token = (await api("POST", "/v1/auth/login", { email, password: "end to end password" })).body.accessToken;
  workspaceId = (await api("POST", "/v1/workspaces", { name: "E2E" })).body.id;
}, 180_000);

afterAll(async () => {
  if (runner && runner.exitCode === null) {
    runner.kill("SIGTERM");
    // Bounded: a runner that ignores SIGTERM is killed below all the same.
    await until("the runner to exit", () => runner.exitCode !== null || runner.signalCode !== null, 10_000).catch(() => undefined);
  }
  runner?.kill("SIGKILL");
  await stack?.close();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

async function waitForEnd(buildId: string): Promise<any> {
  let status = "";
  return until(
    `build ${buildId} to end`,
    async () => {
      const build = (await api("GET", `/v1/builds/${buildId}`)).body;
      status = build.status;
      return ["succeeded", "failed", "cancelled", "timed_out"].includes(build.status) && build;
    },
    150_000,
    { intervalMs: 250, diagnostics: () => `build still ${status}; runner said:\n${runnerOutput.slice(-3000)}` },
  );
}

const sparkiYml = (test: string) => `language: javascript
commands:
  install: null
  lint: null
  test: ${test}
  build: node build.js
outputDir: dist
`;
const buildJs = `const fs = require("node:fs");
for (let i = 1; i <= 200; i++) console.log("building part " + i);
console.error("\\u001b[33ma warning on stderr\\u001b[0m");
fs.mkdirSync("dist", { recursive: true });
fs.writeFileSync("dist/index.html", "<h1>built by sparki</h1>");
`;

describe("a build on a real runner", () => {
  it("plans with no YAML needed beyond overrides, runs, streams every line in order, keeps dist/, and succeeds", async () => {
    const repo = gitRepo("ok", {
      "package.json": JSON.stringify({ name: "e2e", version: "1.0.0" }),
      "sparki.yml": sparkiYml("node -e \"console.log('tests pass')\""),
      "build.js": buildJs,
    });
    const project = (await api("POST", `/v1/workspaces/${workspaceId}/projects`, { name: "ok", gitUrl: repo })).body;
    const build = await api("POST", `/v1/projects/${project.id}/builds`, { branch: "main" });
    expect(build.status).toBe(201);

    const seen: { seq: number; text: string }[] = [];
    const statuses: string[] = [];
    const viewer = new WebSocket(`${stack.apiUrl.replace("http", "ws")}/v1/builds/${build.body.id}/logs`, { headers: { authorization: `Bearer ${token}` } });
    viewer.on("message", (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type === "lines") seen.push(...frame.lines);
      if (frame.type === "status") statuses.push(frame.status);
    });

    const done = await waitForEnd(build.body.id);
    if (done.status !== "succeeded")
      console.log(
        JSON.stringify(done, null, 1),
        runnerOutput,
        await (await fetch(`${stack.apiUrl}/v1/builds/${build.body.id}/logs.txt`, { headers: { authorization: `Bearer ${token}` } })).text(),
      );
    expect(done.status, runnerOutput.slice(-2000)).toBe("succeeded");
    expect(done.commitSha).toMatch(/^[0-9a-f]{40}$/);
    expect(done.jobs.map((j: any) => [j.kind, j.status])).toEqual([
      ["plan", "succeeded"],
      ["steps", "succeeded"],
      ["steps", "succeeded"],
    ]);

    const text = await (await fetch(`${stack.apiUrl}/v1/builds/${build.body.id}/logs.txt`, { headers: { authorization: `Bearer ${token}` } })).text();
    for (let i = 1; i <= 200; i++) expect(text).toContain(`building part ${i}\n`);
    expect(text).toContain("tests pass");
    expect(text).toContain("\u001b[33ma warning on stderr\u001b[0m");

    // The final status follows every line on the viewer's socket.
    await until("the viewer to get the final status", () => statuses.includes("succeeded"), 10_000, {
      diagnostics: () => `statuses ${JSON.stringify(statuses)}, ${seen.length} lines`,
    });
    viewer.close();
    expect(seen.map((l) => l.seq)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.map((l) => l.text).filter((t) => t.startsWith("building part"))).toEqual(Array.from({ length: 200 }, (_, i) => `building part ${i + 1}`));

    const artifacts = (await api("GET", `/v1/builds/${build.body.id}/artifacts`)).body.items;
    expect(artifacts.map((a: any) => a.name)).toEqual(["dist"]);
    const pipeline = (await api("GET", `/v1/projects/${project.id}/pipeline`)).body;
    expect(pipeline).toMatchObject({ version: 1, source: "upload" });
    // The version keeps what the runner detected, with its evidence, and the sparki.yml it read.
    expect(pipeline.detection).toMatchObject({
      language: "javascript",
      evidence: expect.arrayContaining([expect.objectContaining({ field: expect.any(String), reason: expect.any(String) })]),
    });
    expect(pipeline.sparkiYml).toContain("commands:");
  }, 180_000);

  it("fails the build with the failing step's exit code", async () => {
    const repo = gitRepo("bad", {
      "package.json": JSON.stringify({ name: "e2e-bad", version: "1.0.0" }),
      "sparki.yml": sparkiYml("node -e \"console.log('1 test failed'); process.exit(3)\""),
      "build.js": buildJs,
    });
    const project = (await api("POST", `/v1/workspaces/${workspaceId}/projects`, { name: "bad", gitUrl: repo })).body;
    const build = await api("POST", `/v1/projects/${project.id}/builds`, {});
    const done = await waitForEnd(build.body.id);
    expect(done.status).toBe("failed");
    const testJob = done.jobs.find((j: any) => j.name === "test");
    expect(testJob).toMatchObject({ status: "failed", exitCode: 3 });
    expect(done.error ?? "").toMatch(/exit code 3/);
  }, 180_000);
});
