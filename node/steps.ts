/**
 * The step loop's worker: one step = `sh -c COMMAND` in its own process group, stdout and
 * stderr merged into one stream in the order the process wrote them, with a timeout and a
 * cancel that kill the whole group. With a sandbox the same shell runs under bwrap
 * (node/sandbox.ts), which passes the exit code and the output pipe through unchanged. Shared by
 * the runner and `sparki run`, so a step runs the same way in both.
 */
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import type { OutputSink } from "./output-sink.ts";
import { exitCodeOf, terminateGroup } from "./process-group.ts";
import { ENV_FD, sandboxArgv, sandboxCommand, sandboxEnvArgs, type SandboxedStep } from "./sandbox.ts";
import { connectStepNetwork, type StepNetworkLink } from "./step-network.ts";

export interface StepRunOptions {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Aborted on cancel, job timeout, lost lease or shutdown. */
  signal: AbortSignal;
  output: OutputSink;
  /** SIGTERM → SIGKILL delay when killing the group. */
  killGraceMs?: number;
  /** Run the step under bwrap; `env` is then all it gets (nothing of the runner's own). */
  sandbox?: SandboxedStep;
}

export type StepOutcome =
  | { kind: "exited"; exitCode: number; durationMs: number }
  | { kind: "timed_out"; durationMs: number }
  | { kind: "aborted"; durationMs: number };

// The outer shell only redirects stderr into stdout and execs the real one, so the step's
// own `$0`, line numbers and pid are those of the step shell, and both streams share one pipe.
const MERGE_STDERR = 'exec /bin/sh -c "$1" 2>&1';

/** Forwards a stream to the sink, pausing it while the sink is over its high-water mark. */
function forward(stream: Readable, output: OutputSink): Promise<void> {
  stream.on("data", (chunk: Buffer) => {
    if (!output.write(chunk)) {
      stream.pause();
      output.onDrain(() => stream.resume());
    }
  });
  return new Promise((resolve) => {
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
}

/** Runs one step to its end; never throws for the step's own failure. */
export async function runStep(opts: StepRunOptions): Promise<StepOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (opts.signal.aborted) return { kind: "aborted", durationMs: 0 };

  const shell = ["/bin/sh", "-c", MERGE_STDERR, "sh", opts.command];
  const spare = opts.sandbox !== undefined;
  // Sandboxed, bwrap itself gets an empty environment and reads the step's from a pipe
  // (node/sandbox.ts, ENV_FD); the pipe's end is the only stdio slot past stderr.
  const [file, args, env] = opts.sandbox
    ? [...sandboxCommand(opts.sandbox.sandbox, sandboxArgv(opts.sandbox, opts.cwd, shell)), {}]
    : ["/bin/sh", shell.slice(1), opts.env];
  // A network of its own adds two more: bwrap's "started" out (NET_INFO_FD), the go-ahead in (NET_BLOCK_FD).
  const network = opts.sandbox?.sandbox.network;
  const child = spawn(file, args, {
    cwd: opts.cwd,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe", opts.sandbox ? "pipe" : "ignore", ...(network ? (["pipe", "pipe"] as const) : [])],
  });
  // Both are pipes (stdio above); the 4-slot form loses that in the types.
  const stdout = child.stdout as Readable;
  const stderr = child.stderr as Readable;
  const envPipe = opts.sandbox ? child.stdio[ENV_FD] : null;
  if (envPipe && "end" in envPipe) {
    // bwrap gone before reading it (a failed start) is reported by its exit code.
    envPipe.on("error", () => undefined);
    envPipe.end(sandboxEnvArgs(opts.env));
  }
  const spawned = new Promise<Error | null>((resolve) => {
    child.once("spawn", () => resolve(null));
    child.once("error", resolve);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const streams = Promise.all([forward(stdout, opts.output), forward(stderr, opts.output)]);
  const spawnError = await spawned;
  if (spawnError) {
    opts.output.note(`sparki: cannot start the step: ${spawnError.message}`);
    return { kind: "exited", exitCode: 127, durationMs: elapsed() };
  }
  const pgid = child.pid as number;
  let link: StepNetworkLink | undefined;
  if (network) {
    try {
      link = await connectStepNetwork(child, network);
    } catch (err) {
      // bwrap still waits for its go-ahead: the step never ran.
      opts.output.note(`sparki: cannot start the step: its network could not be set up: ${err instanceof Error ? err.message : String(err)}`);
      await terminateGroup(pgid, 0, false);
      await exited;
      opts.output.end();
      return { kind: "exited", exitCode: 127, durationMs: elapsed() };
    }
  }

  let stop: "timed_out" | "aborted" | null = null;
  let killing: Promise<void> = Promise.resolve();
  const kill = (why: "timed_out" | "aborted") => {
    if (stop) return;
    stop = why;
    killing = terminateGroup(pgid, opts.killGraceMs, spare);
  };
  const timer = setTimeout(() => kill("timed_out"), opts.timeoutMs);
  const onAbort = () => kill("aborted");
  opts.signal.addEventListener("abort", onAbort, { once: true });

  const { code, signal } = await exited;
  clearTimeout(timer);
  opts.signal.removeEventListener("abort", onAbort);
  await killing;
  // Background processes the step left behind would hold the pipe open and leak between
  // steps and jobs: a step's processes do not outlive it.
  await terminateGroup(pgid, opts.killGraceMs ?? 3000, spare);
  await link?.close();
  // The pipes close once the last writer is gone; a grandchild that escaped the group (setsid)
  // could hold them forever, so their end is bounded.
  let drainTimer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([streams.then(() => true), new Promise<boolean>((r) => (drainTimer = setTimeout(() => r(false), 2000)))]);
  // Cleared, or it would keep a short-lived process (sparki run) alive 2 s after its last step.
  clearTimeout(drainTimer);
  if (!drained) {
    stdout.destroy();
    stderr.destroy();
  }
  opts.output.end();

  if (stop === "timed_out") return { kind: "timed_out", durationMs: elapsed() };
  if (stop === "aborted") return { kind: "aborted", durationMs: elapsed() };
  return { kind: "exited", exitCode: exitCodeOf(code, signal), durationMs: elapsed() };
}
