/**
 * Steps under the real bwrap: real child processes, the host's real /proc. What a sandboxed
 * step can see, write and keep running, and that exit codes, live output and kills still work.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OutputSink } from "./output-sink.ts";
import { hiddenPaths, sandboxBaseEnv, type SandboxedStep } from "./sandbox.ts";
import { runStep, type StepRunOptions } from "./steps.ts";
import { hostPidsWithArg, processMarkers } from "../test/process-markers.ts";
import { until } from "../test/until.ts";

let root: string;
let step: SandboxedStep;
let src: string;

// Not under /tmp: the private /tmp would hide it anyway, and the test is that the hiding works.
// A checkout that itself lives under /tmp (a CI clone may) puts the test's host files in /var/tmp.
const cwd = realpathSync(process.cwd());
const hostTmp = realpathSync(tmpdir());
const hostBase = cwd === hostTmp || cwd.startsWith(`${hostTmp}/`) ? realpathSync("/var/tmp") : cwd;

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(hostBase, ".sandbox-test-")));
  const work = join(root, "work");
  const jobDir = join(work, "job-a");
  src = join(jobDir, "src");
  mkdirSync(src, { recursive: true });
  mkdirSync(join(jobDir, "home"));
  mkdirSync(join(work, "job-b", "src"), { recursive: true });
  writeFileSync(join(work, "job-b", "src", "other.txt"), "another job's file");
  writeFileSync(join(root, "runner.json"), JSON.stringify({ runnerToken: "srn_supersecret" }));
  step = { sandbox: { bwrap: "bwrap", hidden: hiddenPaths({ configPath: join(root, "runner.json"), workDir: work }) }, jobDir };
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function sink() {
  const chunks: Buffer[] = [];
  const out: OutputSink & { text: () => string } = {
    write: (chunk) => (chunks.push(Buffer.from(chunk)), true),
    onDrain: (fn) => fn(),
    note: (text) => chunks.push(Buffer.from(`[note] ${text}\n`)),
    end: () => undefined,
    text: () => Buffer.concat(chunks).toString(),
  };
  return out;
}

function run(command: string, extra: Partial<StepRunOptions> = {}) {
  const output = sink();
  const outcome = runStep({
    command,
    cwd: src,
    env: { ...sandboxBaseEnv(step.jobDir), JOB_VAR: "from the job" },
    timeoutMs: 30_000,
    signal: new AbortController().signal,
    output,
    sandbox: step,
    killGraceMs: 1500,
    ...extra,
  });
  return { outcome, output };
}

describe("a sandboxed step", () => {
  it("passes exit codes through, a signal's as 128 + n", async () => {
    expect(await run("echo out; echo err >&2; exit 3").outcome).toMatchObject({ kind: "exited", exitCode: 3 });
    expect(await run("kill -TERM $$").outcome).toMatchObject({ kind: "exited", exitCode: 143 });
    const ok = run("echo out; echo err >&2");
    expect(await ok.outcome).toMatchObject({ kind: "exited", exitCode: 0 });
    expect(ok.output.text()).toBe("out\nerr\n");
  });

  it("gets only the job's environment", async () => {
    process.env.SPARKI_TEST_RUNNER_ONLY = "runner-secret-value";
    try {
      const { outcome, output } = run("env");
      await outcome;
      // The shell adds PWD (and some shells SHLVL, OLDPWD, _) of its own.
      const names = output
        .text()
        .trim()
        .split("\n")
        .map((l) => l.split("=")[0])
        .filter((n) => !["PWD", "SHLVL", "OLDPWD", "_"].includes(n ?? ""));
      expect(names.sort()).toEqual(["HOME", "JOB_VAR", "LANG", "PATH", "TMPDIR"]);
      expect(output.text()).toContain(`HOME=${step.jobDir}/home\n`);
      expect(output.text()).not.toContain("runner-secret-value");
    } finally {
      delete process.env.SPARKI_TEST_RUNNER_ONLY;
    }
  });

  it("hands the environment to bwrap through a pipe: bwrap's own environment and argv on the host hold none of it", async () => {
    const controller = new AbortController();
    const secret = `secret-${crypto.randomUUID()}`;
    const [marker] = processMarkers(1) as [string];
    // A job's LD_PRELOAD must not reach bwrap, which runs on the host before the sandbox exists.
    const env = { ...sandboxBaseEnv(step.jobDir), JOB_SECRET: secret, LD_PRELOAD: `${src}/evil.so` };
    const output = sink();
    const outcome = runStep({
      command: `echo "inside: $JOB_SECRET"; exec sleep ${marker}`,
      cwd: src,
      env,
      timeoutMs: 30_000,
      signal: controller.signal,
      output,
      sandbox: step,
      killGraceMs: 1500,
    });
    await until("the step to run", () => output.text().includes("inside: ") && hostPidsWithArg(marker).length === 1);
    const bwraps = readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .filter((pid) => {
        try {
          return (
            readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(`${step.sandbox.bwrap}\0--args\0`) &&
            readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker)
          );
        } catch {
          return false;
        }
      });
    // bwrap on the host, and its init in the step's namespace.
    expect(bwraps.length).toBeGreaterThanOrEqual(1);
    for (const pid of bwraps) {
      expect(readFileSync(`/proc/${pid}/environ`, "utf8")).toBe("");
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain(secret);
    }
    controller.abort();
    await outcome;
    // The step itself got it (its shell ignored the missing preload, as ld.so does).
    expect(output.text()).toContain(`inside: ${secret}\n`);
  });

  it("writes its checkout, its home and a private /tmp; the rest of the host is read-only", async () => {
    writeFileSync(join(tmpdir(), "sparki-host-tmp-marker"), "host");
    const { outcome, output } = run(`set -u
echo built > built.txt && echo "checkout ok"
echo x > "$HOME/.npmrc" && echo "home ok"
echo x > /tmp/scratch && echo "tmp ok"
ls /tmp/sparki-host-tmp-marker 2>/dev/null || echo "host tmp invisible"
for target in ${root}/escape.txt /etc/sparki-escape /usr/sparki-escape ${hostBase}/sparki-escape; do
  if (echo x > "$target") 2>/dev/null; then echo "WROTE $target"; else echo "refused $target"; fi
done`);
    expect(await outcome).toMatchObject({ exitCode: 0 });
    const text = output.text();
    expect(text).toContain("checkout ok\nhome ok\ntmp ok\nhost tmp invisible\n");
    expect(text).not.toContain("WROTE");
    expect(text.match(/refused /g)).toHaveLength(4);
    expect(readFileSync(join(src, "built.txt"), "utf8")).toBe("built\n");
    expect(existsSync(join(tmpdir(), "scratch"))).toBe(false);
    expect(existsSync(join(root, "escape.txt"))).toBe(false);
    rmSync(join(tmpdir(), "sparki-host-tmp-marker"), { force: true });
  });

  it("sees neither the runner's config, nor other jobs' folders, nor the runner's processes", async () => {
    const { outcome, output } = run(`cat ${root}/runner.json 2>/dev/null || echo "config unreadable"
ls ${root}/work; ls ${root}/work/job-b 2>&1 | head -1
echo "pids: $(ls /proc | grep -c '^[0-9]')"
cat /proc/${process.pid}/cmdline 2>/dev/null || echo "no runner in /proc"
cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n' | grep -c 'srn_super[s]ecret' || true`);
    await outcome;
    const text = output.text();
    expect(text).not.toContain("srn_supersecret");
    // /dev/null over the file, on a nodev mount: it cannot even be opened.
    expect(text).toContain("config unreadable\n");
    // The work root shows only this job's own folder.
    expect(text).toContain("job-a\n");
    expect(text).not.toContain("other.txt");
    expect(text).toMatch(/No such file or directory/);
    expect(text).toContain("no runner in /proc\n");
    // bwrap's init, the step's two shells, ls and grep: a handful, not the host's hundreds.
    expect(Number(/pids: (\d+)/.exec(text)?.[1])).toBeLessThan(10);
    expect(text.trim().split("\n").at(-1)).toBe("0");
  });

  it("sees the job's runtime folder read-only under the private /tmp, and nothing hidden through a folder that holds it", async () => {
    // A runtime kept under the host's /tmp (the private /tmp would hide it) whose `node` says who it is.
    const runtime = mkdtempSync(join(hostTmp, "sparki-runtime-"));
    try {
      mkdirSync(join(runtime, "bin"));
      writeFileSync(join(runtime, "bin", "node"), "#!/bin/sh\necho fake node 7.77.0\n", { mode: 0o755 });
      // `root` holds the runner's config and work root: binding it must not uncover them.
      step = { ...step, readOnly: [runtime, root] };
      const { outcome, output } = run(`PATH="${runtime}/bin:$PATH" node
if (echo x > ${runtime}/bin/written) 2>/dev/null; then echo "WROTE runtime"; else echo "runtime read-only"; fi
cat ${root}/runner.json 2>/dev/null || echo "config unreadable"
ls ${root}/work/job-b 2>&1 | head -1`);
      expect(await outcome).toMatchObject({ exitCode: 0 });
      const text = output.text();
      expect(text).toContain("fake node 7.77.0\nruntime read-only\nconfig unreadable\n");
      expect(text).not.toContain("other.txt");
      expect(text).not.toContain("srn_supersecret");
    } finally {
      rmSync(runtime, { recursive: true, force: true });
    }
  });

  it("in the dev stack's layout, hides all of .sparki/ (worker.env, runner.json) but its own job folder", async () => {
    const state = join(root, ".sparki");
    const jobDir = join(state, "runner-work", "job-x");
    mkdirSync(join(jobDir, "src"), { recursive: true });
    mkdirSync(join(jobDir, "home"));
    writeFileSync(join(state, "worker.env"), "JWT_SECRET=dev-jwt-secret-value\n");
    writeFileSync(join(state, "runner.json"), JSON.stringify({ runnerToken: "srn_devstacktoken" }));
    const dev: SandboxedStep = {
      sandbox: { bwrap: step.sandbox.bwrap, hidden: hiddenPaths({ configPath: join(state, "runner.json"), workDir: join(state, "runner-work") }) },
      jobDir,
    };
    const output = sink();
    const outcome = runStep({
      command: `cat ${state}/worker.env ${state}/runner.json 2>&1; ls -a ${state}; ls ${state}/runner-work; echo ok > ${state}/x 2>&1 || echo "read-only"`,
      cwd: join(jobDir, "src"),
      env: sandboxBaseEnv(jobDir),
      timeoutMs: 30_000,
      signal: new AbortController().signal,
      output,
      sandbox: dev,
    });
    await outcome;
    const text = output.text();
    expect(text).not.toContain("dev-jwt-secret-value");
    expect(text).not.toContain("srn_devstacktoken");
    expect(text).toContain("No such file or directory");
    expect(text).toContain(".\n..\nrunner-work\njob-x\n");
    expect(text).toContain("read-only\n");
  });

  it("streams output while the step runs", async () => {
    const controller = new AbortController();
    const { outcome, output } = run("echo first; sleep 30; echo never", { signal: controller.signal });
    await until("the first line before the step ends", () => output.text() === "first\n");
    controller.abort();
    expect(await outcome).toMatchObject({ kind: "aborted" });
    expect(output.text()).toBe("first\n");
  });

  it("a cancel gives the step's own trap its SIGTERM, then kills everything in the sandbox, setsid escapees too", async () => {
    const controller = new AbortController();
    const markers = processMarkers(3);
    const alive = () => markers.flatMap(hostPidsWithArg);
    const { outcome, output } = run(
      `trap 'echo "cleaning up"; exit 1' TERM
(trap '' TERM; exec sleep ${markers[0]}) &
setsid sleep ${markers[1]} &
echo ready; sleep ${markers[2]} & wait`,
      { signal: controller.signal },
    );
    await until("the step's processes", () => output.text().includes("ready") && alive().length === 3);
    controller.abort();
    expect(await outcome).toMatchObject({ kind: "aborted" });
    expect(output.text()).toContain("cleaning up\n");
    expect(alive()).toEqual([]);
  });

  it("nothing in the sandbox outlives a runner killed with SIGKILL (--die-with-parent)", async () => {
    const [escapee, child] = processMarkers(2) as [string, string];
    const script = `const { runStep } = await import(${JSON.stringify(new URL("./steps.ts", import.meta.url).pathname)});
const sink = { write: () => true, onDrain: (f) => f(), note: () => {}, end: () => {} };
await runStep({ command: "setsid sleep ${escapee} & sleep ${child}", cwd: ${JSON.stringify(src)}, env: { PATH: "/usr/bin:/bin" }, timeoutMs: 60000, signal: new AbortController().signal, output: sink, sandbox: ${JSON.stringify(step)} });`;
    const runner = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: "ignore" });
    try {
      await until("the sandboxed step's processes", () => hostPidsWithArg(escapee).length === 1 && hostPidsWithArg(child).length === 1, 20_000);
      runner.kill("SIGKILL");
      await until("every process of the sandbox to be gone", () => hostPidsWithArg(escapee).length === 0 && hostPidsWithArg(child).length === 0, 5_000);
    } finally {
      runner.kill("SIGKILL");
    }
  });

  it("a timeout ends the step, and leftovers do not outlive a step that exited", async () => {
    const [slow, escapee, child] = processMarkers(3) as [string, string, string];
    expect(await run(`sleep ${slow}`, { timeoutMs: 300 }).outcome).toMatchObject({ kind: "timed_out" });
    expect(hostPidsWithArg(slow)).toEqual([]);
    expect(await run(`setsid sleep ${escapee} & sleep ${child} & echo left`).outcome).toMatchObject({ kind: "exited", exitCode: 0 });
    expect([...hostPidsWithArg(escapee), ...hostPidsWithArg(child)]).toEqual([]);
  });
});
