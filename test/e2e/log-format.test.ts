/**
 * The operators' log (issue 16 item 2): a build on the real local stack with a real runner
 * started with `--log-format json`, LOG_LEVEL=debug so every component speaks, and every line the
 * Worker, its objects and the runner printed is read back and parsed with the format's schema
 * (core/logging/logger.ts). Each component must have written lines, about this build where it
 * knows it. The build is triggered under a caller's `traceparent` (tracing itself stays off) and
 * deploys a static site to one stage, so the orchestrator and its stage lock speak too, and the
 * lines about the build's work carry its trace id.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogLine } from "../../core/logging/logger.ts";
import { E2E, killGroup, oneStepYml, run, runnerBin, until } from "./support.js";

const e2e = new E2E();
/** Everything the stack printed (wrangler relays the Worker's and the objects' console). */
const stackLines: string[] = [];
let runner: { pid: number; stdout: () => string; stderr: () => string; exited: Promise<number | null> } | undefined;

beforeAll(
  () =>
    e2e.start({
      vars: { LOG_LEVEL: "debug" },
      wranglerLogLevel: "log",
      log: (line) => {
        stackLines.push(line);
        e2e.stackLog.push(line);
        if (e2e.stackLog.length > 200) e2e.stackLog.shift();
      },
    }),
  180_000,
);
afterAll(async () => {
  if (runner) {
    killGroup(runner.pid, "SIGTERM");
    await Promise.race([runner.exited, new Promise((r) => setTimeout(r, 8000))]);
    killGroup(runner.pid, "SIGKILL");
  }
  await e2e.close();
}, 60_000);

/** A shared-pool runner with `--log-format json`, its stdout and stderr kept apart. */
async function jsonRunner() {
  const config = join(e2e.work, "runner-json.json");
  await run(process.execPath, [
    runnerBin,
    "register",
    "--url",
    e2e.stack.apiUrl,
    "--token",
    e2e.sharedToken,
    "--name",
    "json",
    "--labels",
    "linux",
    "--config",
    config,
  ]);
  const child = spawn(
    process.execPath,
    [runnerBin, "run", "--config", config, "--work-dir", join(e2e.work, "jobs-json"), "--no-sandbox", "--log-format", "json"],
    {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  if (child.pid === undefined) throw new Error("the runner did not start");
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { pid: child.pid, stdout: () => stdout, stderr: () => stderr, exited };
}

const callerTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const deployments = `deployments:
  - stage: staging
    platform: sparki-static
    healthCheck: { path: /health.txt, intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 2 }
`;

const parseAll = (lines: string[]) => lines.map((line) => ({ line, parsed: LogLine.safeParse(JSON.parse(line)) }));

describe("one log format", () => {
  it("every line of the Worker, its objects and a --log-format json runner parses as the seed's format", async () => {
    const repo = await e2e.gitRepo("logs", {
      "package.json": JSON.stringify({ name: "logs", version: "1.0.0" }),
      "sparki.yml": oneStepYml("mkdir -p dist && echo ok > dist/health.txt", "dist") + deployments,
    });
    const project = await e2e.project("logs", repo);
    runner = await jsonRunner();
    const started = runner;
    await until("the runner to start", () => started.stdout().includes("runner started"), 30_000, { diagnostics: () => started.stdout() + started.stderr() });
    const res = await fetch(`${e2e.stack.apiUrl}/v1/projects/${project.id}/builds`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${e2e.token}`, traceparent: `00-${callerTraceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ branch: "main" }),
    });
    expect(res.status).toBe(201);
    const buildId = ((await res.json()) as { id: string }).id;
    const build = await e2e.waitForEnd(buildId);
    expect(build.status).toBe("succeeded");
    // The coordinator's end line, a metrics flush (every 5 s at most), the queue consumer's line
    // about the build's end and the deployment it starts come after the status is read (late on
    // a loaded machine).
    const json = () => stackLines.map((l) => l.replace(/^wrangler {2}/, "")).filter((l) => l.startsWith("{"));
    await until(
      "the build's end, a metrics flush, the queue consumer and the deployment's end in the log",
      () =>
        json().some((l) => l.includes('"component":"metrics"')) &&
        json().some((l) => l.includes('"component":"queue"')) &&
        json().some((l) => l.includes('"component":"stage-lock"')) &&
        json().some((l) => l.includes('"component":"deployment-orchestrator"') && l.includes('"message":"deployment succeeded"')) &&
        json().some((l) => l.includes(`build succeeded`)),
      30_000,
      {
        diagnostics: () => stackLines.slice(-60).join("\n"),
      },
    );
    killGroup(started.pid, "SIGTERM");
    await started.exited;

    // The runner: every line, stdout and stderr, is a log line; those about the job carry its build.
    const runnerLines = `${started.stdout()}${started.stderr()}`.split("\n").filter((l) => l !== "");
    const runnerParsed = parseAll(runnerLines);
    expect(runnerParsed.filter((p) => !p.parsed.success).map((p) => p.line)).toEqual([]);
    const fromRunner = runnerParsed.flatMap((p) => (p.parsed.success ? [p.parsed.data] : []));
    expect(new Set(fromRunner.map((l) => l.service))).toEqual(new Set(["sparki-runner"]));
    const aboutJobs = fromRunner.filter((l) => l.component === "job");
    expect(aboutJobs.some((l) => l.correlation_id === buildId && typeof l.metadata.job_id === "string")).toBe(true);
    // ...and its trace and workspace, from the claimed job.
    expect(aboutJobs.filter((l) => l.trace_id !== callerTraceId || l.workspace_id !== e2e.workspaceId)).toEqual([]);
    expect(fromRunner.some((l) => l.message.includes("received SIGTERM"))).toBe(true);

    // The Worker and its objects: every JSON line wrangler relayed parses, and each component spoke.
    const stackParsed = parseAll(json());
    expect(stackParsed.filter((p) => !p.parsed.success).map((p) => `${p.line}\n${JSON.stringify(p.parsed.error?.issues)}`)).toEqual([]);
    const fromStack = stackParsed.flatMap((p) => (p.parsed.success ? [p.parsed.data] : []));
    expect(new Set(fromStack.map((l) => l.service))).toEqual(new Set(["sparki-api"]));
    const components = new Set(fromStack.map((l) => l.component));
    for (const component of ["http", "queue", "build-coordinator", "runner-dispatcher", "metrics", "deployment-orchestrator", "stage-lock"])
      expect(components).toContain(component);

    // The trigger's request line knows its caller and workspace, and its request id is the one echoed.
    const trigger = fromStack.find((l) => l.component === "http" && l.metadata.method === "POST" && l.metadata.path === `/v1/projects/${project.id}/builds`);
    expect(trigger).toMatchObject({ workspace_id: e2e.workspaceId, level: "INFO" });
    expect(trigger?.user_id).toEqual(expect.any(String));
    expect(trigger?.correlation_id).toMatch(/^req_/);
    // The queue consumer's line about the build's end carries the build id the coordinator sent.
    expect(fromStack.some((l) => l.component === "queue" && l.correlation_id === buildId && l.message === `build ${buildId} succeeded`)).toBe(true);
    // The coordinator's lines are correlated by the build and know its workspace.
    const coordinator = fromStack.filter((l) => l.component === "build-coordinator" && l.correlation_id === buildId);
    expect(coordinator.map((l) => l.message)).toEqual(expect.arrayContaining(["build started", "build succeeded"]));
    expect(coordinator.every((l) => l.workspace_id === e2e.workspaceId)).toBe(true);
    // The build's trace id is on the lines about its work: its objects', and the pool's hand-outs.
    const handOuts = fromStack.filter((l) => l.component === "runner-dispatcher" && l.metadata.build_id === buildId && l.message.includes(" handed to "));
    expect(handOuts.length).toBeGreaterThan(0);
    expect(handOuts.filter((l) => l.trace_id !== callerTraceId)).toEqual([]);
    expect(coordinator.every((l) => l.trace_id === callerTraceId)).toBe(true);
    const deployment = fromStack.filter((l) => l.component === "deployment-orchestrator");
    expect(deployment.length).toBeGreaterThan(0);
    expect(deployment.filter((l) => l.trace_id !== callerTraceId)).toEqual([]);
  }, 240_000);
});
