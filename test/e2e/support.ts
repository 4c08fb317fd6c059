/**
 * What the end-to-end tests share: a local stack of their own (dev/stack.ts), an account and a
 * workspace on it, git repositories made in a temp dir, real `sparki-runner` processes, a
 * WebSocket log viewer, and bounded polls. Taken from build.test.ts.
 *
 * The stack's stores (PGlite, the cache shim, the Neon proxy) run inside the test process, so
 * nothing here blocks the event loop while a stack is up: child processes are always async.
 * `wrangler dev` reloads the Worker when a source file changes, which drops every socket to
 * the Durable Objects: run these tests on a checkout nobody is editing at the moment.
 * E2E_KEEP=1 keeps the temp dir (stack state, repositories, runner work dirs) for a post-mortem.
 *
 * Files that start a stack with no options share one per test worker (stacks.ts): a stack's
 * start is seconds of CPU (wrangler, its bundle, workerd, PGlite), and the files of a worker run
 * one after the other. A file that leaves work behind (a job not finished, a runner killed
 * without telling its pool) closes it; the next file gets a fresh one.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import WebSocket from "ws";
import type { Stack, StackOptions } from "../../dev/stack.js";
import { keepLine, leaveSharedStack, sharedStack, startTestStack } from "./stacks.js";
import { until } from "../until.js";
import { runnerBundleBin } from "../../dev/bins.ts";
import { groupMembers } from "../../dev/process-report.ts";

export { groupMembers, until };

export const run = promisify(execFile);
// The bundled bin (dev/bins.ts, built by the node project's global setup): tsx costs 0.4 s of CPU a start.
export const runnerBin = runnerBundleBin;
export const FINISHED = ["succeeded", "failed", "cancelled", "timed_out"];

/** Is the process there (a zombie counts as gone: it runs nothing and only waits to be reaped)? */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // /proc/PID/stat: "pid (comm) STATE ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** The process group of a running process (from /proc), or undefined when it is gone. */
export function pgidOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After "pid (comm) ": state, ppid, pgrp.
    const pgrp = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2];
    return pgrp === undefined ? undefined : Number(pgrp);
  } catch {
    return undefined;
  }
}

/** Sends a signal to a process group, ignoring a group that is already gone. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left.
  }
}

/** The environment a runner host would have: the test runner's own settings left out. */
function hostEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VITEST|NODE_ENV$|TEST$|npm_)/.test(name)));
  return { ...env, ...extra };
}

export interface RunnerProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL to its whole process group (the runner and anything in its group). */
  killHard(): void;
  /** Asks it to hand its jobs back now (two SIGTERMs), then makes sure it is gone. */
  stop(): Promise<void>;
}

export interface Viewer {
  lines: { seq: number; jobId: string; step: string; ts: number; text: string; partial?: true }[];
  /** When each line arrived here (Date.now()), index for index with `lines`. */
  arrivals: number[];
  statuses: string[];
  /** Set when the server closed the socket: code and reason. */
  closed: { code: number; reason: string; at: number } | null;
  opened: Promise<void>;
  close(): void;
}

export interface RunnerOptions {
  /** The control plane the runner talks to; the stack's API by default. */
  url?: string;
  labels?: string;
  /** Extra variables in the runner's environment (its steps inherit them, unsandboxed). */
  env?: Record<string, string>;
  /**
   * Run steps in the bubblewrap sandbox, as runners do by default (node/sandbox.ts). Off
   * unless asked: these tests' steps write marks (pids, attempts) to the test's temp folder and
   * read the runner's environment, which the sandbox hides; build.test.ts and
   * test/security/runner-sandbox.test.ts run sandboxed runners.
   */
  sandbox?: boolean;
  /**
   * `shared` (the default): the instance's shared pool, serving every workspace of the stack but
   * limited by each workspace's shared_runners policy (by default no build of a project with
   * secrets, and never a script deployment). `workspace`: registered into the test's workspace
   * with a registration token, as a team's own runner is: it takes every job of that workspace.
   */
  pool?: "workspace" | "shared";
  /** Register into this workspace instead of the test's own (pool `workspace`). */
  workspaceId?: string;
  /** `run --concurrency`: jobs at the same time (1 by default). */
  concurrency?: number;
}

export interface E2EOptions {
  /**
   * A stack of its own even when {@link E2E.start} asks nothing special of it: for files that
   * read what the whole stack holds (its metrics, every runner online) or break it on purpose.
   */
  ownStack?: boolean;
}

export class E2E {
  stack!: Stack;
  work!: string;
  token = "";
  workspaceId = "";
  /** The stack's SHARED_RUNNER_TOKEN: shared-pool runners register with it. */
  sharedToken = `e2e-shared-${crypto.randomUUID()}`;
  readonly runners: RunnerProcess[] = [];
  /** Set when a runner was killed rather than stopped: it may still count as online. */
  #runnerKilled = false;
  #shared = false;
  /** The last lines wrangler printed, for failure messages. */
  readonly stackLog: string[] = [];
  /** Process groups a test started indirectly (step processes) to kill on close if still there. */
  readonly orphans = new Set<number>();

  constructor(private readonly options: E2EOptions = {}) {}

  /**
   * Starts a stack (the test worker's shared one when no options are given, see the file's
   * header), signs up and creates a workspace.
   */
  async start(options: StackOptions = {}): Promise<void> {
    this.work = mkdtempSync(join(tmpdir(), "sparki-e2e-"));
    if (!this.options.ownStack && Object.keys(options).length === 0) {
      const shared = await sharedStack(this.stackLog);
      this.#shared = true;
      this.stack = shared.stack;
      this.sharedToken = shared.sharedToken;
    } else {
      await this.#startOwnStack(options);
    }
    this.token = (await this.signup(`e2e-${Date.now()}-${Math.floor(Math.random() * 1e6)}@sparki.test`, "end to end password", "E2E")).accessToken;
    const workspace = await this.api("POST", "/v1/workspaces", { name: "E2E" });
    this.workspaceId = workspace.body.id;
  }

  async #startOwnStack(options: StackOptions): Promise<void> {
    this.stack = await startTestStack(this.work, this.sharedToken, (line) => keepLine(this.stackLog, line), options);
  }

  /**
   * Signs a user up and logs them in (signup answers 202 with no tokens, the same whether or not
   * the email is registered); returns the bearer session. Does not change {@link token}.
   */
  async signup(email: string, password: string, name: string): Promise<{ accessToken: string; refreshToken: string; user: { id: string } }> {
    const post = (path: string, body: unknown) =>
      fetch(`${this.stack.apiUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const signup = await post("/v1/auth/signup", { email, password, name });
    if (signup.status !== 202) throw new Error(`signup answered ${signup.status}: ${await signup.text()}`);
    const login = await post("/v1/auth/login", { email, password });
    if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`);
    return (await login.json()) as { accessToken: string; refreshToken: string; user: { id: string } };
  }

  async api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.stack.apiUrl}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed as T };
  }

  /** GET as raw bytes (logs.txt, artifacts). */
  async bytes(path: string): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const res = await fetch(`${this.stack.apiUrl}${path}`, { headers: { authorization: `Bearer ${this.token}` } });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  /** A git repository with the given files (paths may have folders), committed on `main`. */
  async gitRepo(name: string, files: Record<string, string | Buffer>): Promise<string> {
    const dir = join(this.work, "repos", name);
    mkdirSync(dir, { recursive: true });
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    await commitAll(dir);
    return dir;
  }

  async project(name: string, repo: string): Promise<{ id: string }> {
    const res = await this.api("POST", `/v1/workspaces/${this.workspaceId}/projects`, { name, gitUrl: repo });
    if (res.status !== 201) throw new Error(`creating project ${name} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async trigger(projectId: string, branch = "main"): Promise<string> {
    const res = await this.api("POST", `/v1/projects/${projectId}/builds`, { branch });
    if (res.status !== 201) throw new Error(`triggering a build answered ${res.status}: ${JSON.stringify(res.body)}\n${this.diagnostics()}`);
    return res.body.id;
  }

  /** A registration token of a workspace's own pool (the test's workspace by default). */
  async registrationToken(workspaceId = this.workspaceId): Promise<string> {
    const res = await this.api("POST", `/v1/workspaces/${workspaceId}/runner-tokens`, { name: "e2e" });
    if (res.status !== 201) throw new Error(`creating a runner token answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.token;
  }

  /** Registers a runner (see {@link RunnerOptions.pool}) and starts `sparki-runner run` in a process group of its own. */
  async runner(name: string, opts: RunnerOptions = {}): Promise<RunnerProcess> {
    const config = join(this.work, `runner-${name}.json`);
    const token = (opts.pool ?? "shared") === "shared" ? this.sharedToken : await this.registrationToken(opts.workspaceId);
    await run(process.execPath, [
      runnerBin,
      "register",
      "--url",
      opts.url ?? this.stack.apiUrl,
      "--token",
      token,
      "--name",
      name,
      "--labels",
      opts.labels ?? "linux",
      "--config",
      config,
    ]);
    const child = spawn(
      process.execPath,
      [
        runnerBin,
        "run",
        "--config",
        config,
        "--work-dir",
        join(this.work, `jobs-${name}`),
        ...(opts.sandbox ? [] : ["--no-sandbox"]),
        ...(opts.concurrency ? ["--concurrency", String(opts.concurrency)] : []),
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        env: hostEnv({ E2E_RUNNER: name, ...opts.env }),
      },
    );
    if (child.pid === undefined) throw new Error(`runner ${name} did not start`);
    const pid = child.pid;
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    let gone = false;
    let exitCode: number | null = null;
    void exited.then((exit) => {
      gone = true;
      exitCode = exit.code;
    });
    const runner: RunnerProcess = {
      name,
      child,
      pid,
      output: () => output,
      exited,
      killHard: () => {
        this.#runnerKilled = true;
        killGroup(pid, "SIGKILL");
      },
      stop: async () => {
        if (!gone) {
          // The first SIGTERM stops claiming, the second hands running jobs back at once.
          // The second is sent once the first was taken (two at once may arrive as one).
          const taken = output.length;
          child.kill("SIGTERM");
          const said = () => output.slice(taken).includes("received SIGTERM") || gone;
          await until(`runner ${name} to take its first SIGTERM`, said, 8000).catch(() => undefined);
          child.kill("SIGTERM");
          // Bounded: a runner that does not stop is killed below all the same.
          await until(`runner ${name} to exit`, () => gone, 8000).catch(() => undefined);
        }
        // Only a runner that exited cleanly has told its pool it left.
        if (!gone || exitCode !== 0) this.#runnerKilled = true;
        killGroup(pid, "SIGKILL");
      },
    };
    this.runners.push(runner);
    await until(`runner ${name} to start`, () => output.includes("runner started"), 30_000, { diagnostics: () => output });
    return runner;
  }

  /** The build as GET /v1/builds/:id shows it. */
  async build(id: string): Promise<any> {
    const res = await this.api("GET", `/v1/builds/${id}`);
    if (res.status !== 200) throw new Error(`GET /v1/builds/${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Waits until the build is in a final status and every job has ended; returns it. */
  async waitForEnd(id: string, timeoutMs = 150_000): Promise<any> {
    let last: any;
    return until(
      `build ${id} to end`,
      async () => {
        last = await this.build(id);
        return FINISHED.includes(last.status) && last.jobs.every((j: any) => FINISHED.includes(j.status)) ? last : undefined;
      },
      timeoutMs,
      { intervalMs: 250, diagnostics: () => `build: ${JSON.stringify(last)}\n${this.diagnostics()}` },
    );
  }

  /** A viewer on GET /v1/builds/:id/logs, collecting every line and status frame. */
  viewer(buildId: string, from = 1): Viewer {
    const ws = new WebSocket(`${this.stack.apiUrl.replace("http", "ws")}/v1/builds/${buildId}/logs?from=${from}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    const viewer: Viewer = {
      lines: [],
      arrivals: [],
      statuses: [],
      closed: null,
      opened: new Promise((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
        ws.once("unexpected-response", (_req, res) => reject(new Error(`viewer socket answered ${res.statusCode}`)));
      }),
      close: () => ws.close(),
    };
    ws.on("close", (code, reason) => (viewer.closed = { code, reason: reason.toString(), at: Date.now() }));
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type === "lines") {
        viewer.lines.push(...frame.lines);
        viewer.arrivals.push(...frame.lines.map(() => Date.now()));
      }
      if (frame.type === "status") viewer.statuses.push(frame.status);
    });
    return viewer;
  }

  diagnostics(): string {
    return [
      ...this.runners.map((r) => `--- runner ${r.name}:\n${r.output().slice(-3000)}`),
      `--- stack:\n${this.stackLog.slice(-40).join("\n")}`,
      `--- stack now:\n${this.stack?.diagnose() ?? "not started"}`,
    ].join("\n");
  }

  /**
   * Stops the runners (handing their jobs back), the stragglers, the stack (a shared one only
   * when this file left work in it); removes the temp dir.
   */
  async close(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop().catch(() => undefined)));
    for (const pgid of this.orphans) killGroup(pgid, "SIGKILL");
    if (this.#shared) await leaveSharedStack({ runnerKilled: this.#runnerKilled });
    else await this.stack?.close();
    if (this.work && !process.env.E2E_KEEP) rmSync(this.work, { recursive: true, force: true });
    else if (this.work) console.log(`kept ${this.work}`);
  }
}

/** git's environment in the tests: a fixed identity, whatever the machine's git config says. */
export const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: "e2e",
  GIT_AUTHOR_EMAIL: "e2e@sparki.test",
  GIT_COMMITTER_NAME: "e2e",
  GIT_COMMITTER_EMAIL: "e2e@sparki.test",
};

/** Runs git in `cwd` with {@link gitEnv}; its stdout and stderr together. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await run("git", args, { cwd, env: gitEnv });
  return `${stdout}${stderr}`;
}

/** A bare clone of the working repository `work` at `gitDir` (what a git host serves). */
export async function bareClone(work: string, gitDir: string): Promise<string> {
  await run("git", ["clone", "--quiet", "--bare", work, gitDir], { env: gitEnv });
  return gitDir;
}

/** `git init` (if needed), add everything, commit on `main`. */
export async function commitAll(dir: string): Promise<void> {
  await run("git", ["init", "--quiet", "--initial-branch=main", dir], { env: gitEnv });
  await run("git", ["add", "-A"], { cwd: dir, env: gitEnv });
  await run("git", ["commit", "--quiet", "-m", "init"], { cwd: dir, env: gitEnv });
}

/** The log's bytes as the protocol defines them: each line's text, plus "\n" unless partial. */
export function logBytes(lines: { text: string; partial?: true }[]): Buffer {
  return Buffer.from(lines.map((l) => l.text + (l.partial ? "" : "\n")).join(""), "utf8");
}

/** A sparki.yml that runs one job, `build`, whose one step is `command`. */
export function oneStepYml(command: string, outputDir: string | null = null): string {
  return `language: javascript
commands:
  install: null
  lint: null
  test: null
  build: ${JSON.stringify(command)}
outputDir: ${outputDir === null ? "null" : JSON.stringify(outputDir)}
`;
}
