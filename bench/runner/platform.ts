/**
 * What the build benchmarks (dispatch, logs, runner) share: the real local stack (startStack),
 * a real `sparki-runner` process registered in the shared pool, a signed-up user with a
 * workspace, git repositories made on the spot, and the runner's stdout parsed into timed
 * events ("<ISO time> <message>", one line per event, see runner/cli.ts).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { fixedStackPort } from "../../dev/fixed-port.js";
import WebSocket from "ws";
import type { ViewerFrame, ViewerLogLine } from "../../core/contracts/logs.ts";
import { projectRoot, startStack, type Stack, type StackOptions } from "../../dev/stack.js";
import { stackLog } from "../stack-log.js";
import { oneStartAtATime } from "../start-lock.js";

const run = promisify(execFile);
export const runnerBin = join(projectRoot, "runner", "bin.js");

/** One line of the runner's stdout: `at` is the runner's own timestamp (ms since the epoch). */
export interface RunnerEvent {
  at: number;
  message: string;
}

/** A `sparki-runner run` process whose event lines are kept and can be waited for. */
export class RunnerProcess {
  readonly events: RunnerEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private pending = "";
  private exited = false;

  constructor(readonly child: ChildProcess) {
    const take = (chunk: Buffer) => {
      this.pending += chunk.toString();
      const lines = this.pending.split("\n");
      this.pending = lines.pop() ?? "";
      for (const line of lines) {
        const match = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/.exec(line);
        this.events.push(match ? { at: Date.parse(match[1] as string), message: match[2] as string } : { at: Date.now(), message: line });
      }
      for (const wake of [...this.waiters]) wake();
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
    child.once("exit", () => {
      this.exited = true;
      for (const wake of [...this.waiters]) wake();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The first event at index ≥ `from` whose message matches; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<{ event: RunnerEvent; match: RegExpExecArray; index: number }> {
    return new Promise((resolve, reject) => {
      let next = from;
      const check = () => {
        for (; next < this.events.length; next++) {
          const event = this.events[next] as RunnerEvent;
          const match = pattern.exec(event.message);
          if (match) return done(() => resolve({ event, match, index: next }));
        }
        if (this.exited) done(() => reject(new Error(`the runner exited while waiting for ${pattern}; it said:\n${this.tail()}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no runner line matched ${pattern} within ${timeoutMs} ms; it said:\n${this.tail()}`))),
        timeoutMs,
      );
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        fn();
      };
      this.waiters.add(check);
      check();
    });
  }

  tail(lines = 20): string {
    return this.events
      .slice(-lines)
      .map((e) => `  ${new Date(e.at).toISOString()} ${e.message}`)
      .join("\n");
  }

  /**
   * SIGTERM (the runner hands back or finishes its jobs), SIGKILL after `graceMs`, or 1 s after it
   * says "runner stopped": once it has run jobs, its process lingers about 5 s after that line
   * (something it no longer needs keeps Node's event loop alive), which every benchmark would wait.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited || this.child.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    const from = this.events.length;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    let stopped: NodeJS.Timeout | undefined;
    this.waitFor(/^runner stopped$/, graceMs, from).then(
      () => (stopped = setTimeout(() => this.child.kill("SIGKILL"), 1000)),
      () => undefined,
    );
    await gone;
    clearTimeout(timer);
    clearTimeout(stopped);
  }
}

/** The code being measured: the commit, and whether tracked files differ from it. */
export async function revision(): Promise<string> {
  try {
    const [head, status] = await Promise.all([
      run("git", ["rev-parse", "--short", "HEAD"], { cwd: projectRoot }),
      run("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: projectRoot }),
    ]);
    return `${head.stdout.trim()}${status.stdout.trim() ? " with uncommitted changes" : ""}`;
  } catch {
    return `unknown (${projectRoot} is not a git checkout)`;
  }
}

export interface Platform {
  stack: Stack;
  apiUrl: string;
  /** A user's bearer token (owner of {@link workspaceId}). */
  token: string;
  workspaceId: string;
  /** Scratch directory of this run (repositories, runner work dir, stack state). */
  work: string;
  runner: RunnerProcess;
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  /** A git repository with `files`, committed on `main`; returns its path (a project's gitUrl). */
  gitRepo(name: string, files: Record<string, string>): Promise<string>;
  createProject(name: string, gitUrl: string): Promise<{ id: string }>;
  /** The build's log from line `from` (1: all of it) as a viewer gets it (with each line's runner timestamp), through the log WebSocket. */
  readLog(buildId: string, from?: number): Promise<ViewerLogLine[]>;
  /** Polls GET /v1/builds/:id until the build ends. */
  waitForEnd(buildId: string, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

export interface PlatformOptions {
  /** Used in temp directory and runner names. */
  name: string;
  entry?: StackOptions["entry"];
  config?: StackOptions["config"];
  vars?: Record<string, string>;
  log?: (line: string) => void;
  /**
   * Run the runner's steps in its bubblewrap sandbox (node/sandbox.ts), as a runner does by
   * default. Off unless asked: bench/logs' steps wait on files in the bench's scratch folder,
   * which the sandbox hides.
   */
  sandbox?: boolean;
  /** Extra variables in the runner's environment (bench/dispatch's tracing: OTEL_*). */
  runnerEnv?: Record<string, string>;
}

/** Starts the stack and one runner; everything is stopped by `close()` (also on SIGINT/SIGTERM). */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const work = mkdtempSync(join(tmpdir(), `sparki-bench-${options.name}-`));
  const sharedToken = `bench-shared-${crypto.randomUUID()}`;
  const stackLines = stackLog();
  let stack: Stack | undefined;
  let runner: RunnerProcess | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await runner?.stop().catch(() => undefined);
    await stack?.close().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = () => void close().then(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    console.log(`code: commit ${await revision()}; scratch ${work}`);
    // startStack picks its ports with get-port before PGlite has started (seconds): another stack
    // starting meanwhile on this machine can take the same port first. Then try again.
    for (let attempt = 1; !stack; attempt++) {
      try {
        stack = await oneStartAtATime(async () =>
          startStack({
            stateDir: join(work, `state-${attempt}`),
            databaseUrl: process.env.DATABASE_URL || undefined,
            redisUrl: process.env.REDIS_URL || undefined,
            // Not 8787, which every `npm run dev` on this machine asks for first.
            apiPort: await fixedStackPort(),
            ...(options.entry ? { entry: options.entry } : {}),
            ...(options.config ? { config: options.config } : {}),
            // Per-request info lines go through wrangler's terminal relay locally, which production
            // does not have; BCRYPT_COST only speeds up the sign-up, which nothing here measures.
            vars: { SHARED_RUNNER_TOKEN: sharedToken, LOG_LEVEL: "warn", BCRYPT_COST: "4", ...options.vars },
            log: options.log ?? stackLines.log,
          }),
        );
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 3) throw err;
        console.log(`  (the local stack lost a port race with another stack on this machine: ${(err as Error).message}; starting it again)`);
        await new Promise((r) => setTimeout(r, 1000 + Math.random() * 2000));
      }
    }
    const apiUrl = stack.apiUrl;
    let token = "";
    const api = async <T = any>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };

    const config = join(work, "runner.json");
    // Async: the stack's stores (PGlite, proxy, cache) run in this process and must keep answering.
    await run(process.execPath, [
      runnerBin,
      "register",
      "--url",
      apiUrl,
      "--token",
      sharedToken,
      "--name",
      `bench-${options.name}`,
      "--labels",
      "linux",
      "--config",
      config,
    ]);
    runner = new RunnerProcess(
      spawn(process.execPath, [runnerBin, "run", "--config", config, "--work-dir", join(work, "jobs"), ...(options.sandbox ? [] : ["--no-sandbox"])], {
        cwd: projectRoot,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...options.runnerEnv },
      }),
    );
    await runner.waitFor(/^runner started/, 30_000);

    const email = `bench-${options.name}-${Date.now()}@example.test`;
    await api("POST", "/v1/auth/signup", { email, password: "benchmark password", name: "Bench" });
    token = (await api<{ accessToken: string }>("POST", "/v1/auth/login", { email, password: "benchmark password" })).accessToken;
    const workspace = await api<{ id: string }>("POST", "/v1/workspaces", { name: `Bench ${options.name}` });

    const gitEnv = {
      ...process.env,
      GIT_AUTHOR_NAME: "bench",
      GIT_AUTHOR_EMAIL: "bench@sparki.test",
      GIT_COMMITTER_NAME: "bench",
      GIT_COMMITTER_EMAIL: "bench@sparki.test",
    };
    const gitRepo = async (name: string, files: Record<string, string>) => {
      const dir = join(work, "repos", name);
      await run("git", ["init", "--quiet", "--initial-branch=main", dir], { env: gitEnv });
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      await run("git", ["add", "-A"], { cwd: dir, env: gitEnv });
      await run("git", ["commit", "--quiet", "-m", "bench"], { cwd: dir, env: gitEnv });
      return dir;
    };
    const waitForEnd = async (buildId: string, timeoutMs = 300_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const build = await api("GET", `/v1/builds/${buildId}`);
        if (["succeeded", "failed", "cancelled", "timed_out"].includes(build.status)) return build;
        if (Date.now() > deadline) throw new Error(`build ${buildId} still ${build.status} after ${timeoutMs} ms; the runner said:\n${runner?.tail()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const readLog = (buildId: string, from = 1) =>
      new Promise<ViewerLogLine[]>((resolve, reject) => {
        const lines: ViewerLogLine[] = [];
        const ws = new WebSocket(`${apiUrl.replace(/^http/, "ws")}/v1/builds/${buildId}/logs?from=${from}`, { headers: { authorization: `Bearer ${token}` } });
        const timer = setTimeout(() => (ws.terminate(), reject(new Error(`the log of build ${buildId} did not arrive`))), 30_000);
        ws.on("message", (data) => {
          const frame = JSON.parse(String(data)) as ViewerFrame;
          if (frame.type === "lines") lines.push(...frame.lines);
          // The backlog is sent on connect, before the status frame.
          else {
            clearTimeout(timer);
            ws.close();
            resolve(lines);
          }
        });
        ws.on("error", (err) => (clearTimeout(timer), reject(err)));
      });
    return {
      stack,
      readLog,
      apiUrl,
      get token() {
        return token;
      },
      workspaceId: workspace.id,
      work,
      runner,
      api,
      gitRepo,
      createProject: (name, gitUrl) => api("POST", `/v1/workspaces/${workspace.id}/projects`, { name, gitUrl }),
      waitForEnd,
      close,
    };
  } catch (err) {
    await close();
    throw stackLines.explain(err);
  }
}

/** Sorted-sample percentile, as bench/load.ts computes it (nearest rank, no interpolation). */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export function stats(samples: readonly number[]): { n: number; p50: number; p95: number; min: number; max: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length),
  };
}

export const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : "n/a");
