/**
 * A runner as an autoscaler runs it: no config file, only SPARKI_URL and SPARKI_RUNNER_TOKEN in
 * its environment (as a container gets them), and `run --ephemeral`: it takes one job from the
 * real stack, finishes it, reports it and exits 0, while a second queued job stays queued for
 * the next runner.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, killGroup, oneStepYml, run, runnerBin, until } from "./support.js";

const e2e = new E2E();
const children: number[] = [];

beforeAll(() => e2e.start(), 180_000);
afterAll(async () => {
  for (const pid of children) killGroup(pid, "SIGKILL");
  await e2e.close();
}, 60_000);

/** Registers a workspace runner and returns its runner token; the config file is deleted. */
async function runnerToken(): Promise<string> {
  const config = join(e2e.work, "registered.json");
  const token = await e2e.registrationToken();
  await run(process.execPath, [runnerBin, "register", "--url", e2e.stack.apiUrl, "--token", token, "--name", "pod", "--labels", "linux", "--config", config]);
  const written = JSON.parse(readFileSync(config, "utf8")) as { runnerToken: string };
  rmSync(config);
  return written.runnerToken;
}

/** `sparki-runner run --ephemeral` with a HOME of its own (no ~/.sparki-runner) and settings from the environment. */
function ephemeral(env: Record<string, string>) {
  const home = join(e2e.work, "pod-home");
  mkdirSync(home, { recursive: true });
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VITEST|NODE_ENV$|TEST$|npm_|SPARKI_)/.test(name)));
  const child = spawn(process.execPath, [runnerBin, "run", "--ephemeral", "--no-sandbox", "--work-dir", join(e2e.work, "pod-work")], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...inherited, HOME: home, ...env },
  });
  if (child.pid === undefined) throw new Error("the runner did not start");
  children.push(child.pid);
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { exited, output: () => output, home };
}

describe("an ephemeral runner configured by its environment", () => {
  it("takes one job, reports it and exits 0; the second queued job stays queued", async () => {
    const token = await runnerToken();
    const repo = await e2e.gitRepo("pod", { "package.json": JSON.stringify({ name: "pod", version: "1.0.0" }), "sparki.yml": oneStepYml("echo hi") });
    const project = await e2e.project("pod", repo);
    // Two builds queued before any runner is there: two plan jobs wait in the pool.
    const first = await e2e.trigger(project.id);
    const second = await e2e.trigger(project.id);
    await until(
      "both plan jobs to be queued",
      async () => (await Promise.all([first, second].map((id) => e2e.build(id)))).every((b) => b.jobs.length === 1),
      30_000,
    );

    const pod = ephemeral({ SPARKI_URL: e2e.stack.apiUrl, SPARKI_RUNNER_TOKEN: token, SPARKI_RUNNER_POOL: "workspace" });
    let exit: { code: number | null } | undefined;
    void pod.exited.then((code) => (exit = { code }));
    const { code } = await until("the ephemeral runner to exit", () => exit, 120_000, { diagnostics: () => `${pod.output()}\n${e2e.diagnostics()}` });
    expect(code, pod.output()).toBe(0);
    expect(existsSync(join(pod.home, ".sparki-runner", "config.json"))).toBe(false);
    expect(pod.output()).toContain(`settings: url ${e2e.stack.apiUrl} (env), token (env), pool workspace (env)`);
    expect(pod.output().match(/claimed job /g)).toHaveLength(1);

    // Exactly one plan job ran (and its build moved on to its steps job); the other build waits.
    const builds = await Promise.all([first, second].map((id) => e2e.build(id)));
    const plans = builds.map((b) => b.jobs.find((j: { kind: string }) => j.kind === "plan"));
    expect(plans.map((p) => p.status).sort()).toEqual(["queued", "succeeded"]);
    const ran = builds[plans.findIndex((p) => p.status === "succeeded")];
    const waiting = builds[plans.findIndex((p) => p.status === "queued")];
    expect(pod.output()).toContain(`ephemeral: job ${ran.jobs[0].id} reported succeeded; exiting`);
    expect(waiting.status).toBe("queued");
    // The ran build's steps job is queued too: the runner did not take a second job.
    expect(ran.jobs.filter((j: { kind: string }) => j.kind === "steps").map((j: { status: string }) => j.status)).toEqual(["queued"]);
  }, 150_000);
});
