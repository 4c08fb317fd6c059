/**
 * The local stack's own runner (shared pool, labels `linux`), kept running: it is registered
 * once per state directory (`runner.json`), always pointed at this stack's address with
 * `--url` (the file's address is the first stack's, and a later stack may be on another port),
 * registered again when the stack refuses its token (the database was reset), and restarted,
 * loudly, whenever it stops. Its steps run in the bubblewrap sandbox when it works here; else
 * with --no-sandbox, said at start. Jobs are checked out under a path with no dot segment
 * (runner/config.ts, defaultWorkDir), never in `.sparki/`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { defaultWorkDir } from "../runner/config.js";
import { probeSandbox } from "../node/sandbox.js";
import { stopChild } from "./child-process.js";

export interface LocalRunner {
  /** The running runner's pid (undefined while it is being restarted). */
  pid(): number | undefined;
  stop(): Promise<void>;
}

export interface LocalRunnerOptions {
  projectRoot: string;
  apiUrl: string;
  sharedToken: string;
  stateDir: string;
  log: (line: string) => void;
}

/** What the runner prints when its token is refused (runner/claim.ts, ClaimRefusedError). */
const tokenRefused = /rejected this runner's token/;
/** A runner that ran this long before stopping starts again at once. */
const healthyRunMs = 60_000;
const maxRestartDelayMs = 30_000;

export async function startLocalRunner(opts: LocalRunnerOptions): Promise<LocalRunner> {
  const { log } = opts;
  const bin = join(opts.projectRoot, "runner", "bin.js");
  const config = join(opts.stateDir, "runner.json");
  const workDir = defaultWorkDir(config);
  const sandbox = await probeSandbox();

  const register = async () => {
    const code = await new Promise<number>((done) => {
      const child = spawn(
        process.execPath,
        [bin, "register", "--url", opts.apiUrl, "--token", opts.sharedToken, "--name", "local", "--labels", "linux", "--config", config],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      child.stderr?.on("data", (chunk: Buffer) => log(`runner    ${chunk.toString().trim()}`));
      child.once("close", (c) => done(c ?? 1));
    });
    if (code !== 0) throw new Error(`the local runner could not register (exit ${code})`);
  };

  let current: ChildProcess | undefined;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  const start = () => {
    const startedAt = Date.now();
    const child = spawn(
      process.execPath,
      [bin, "run", "--config", config, "--url", opts.apiUrl, "--work-dir", workDir, ...(sandbox.ok ? [] : ["--no-sandbox"])],
      { cwd: opts.projectRoot, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    let refused = false;
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (line.trim() === "") continue;
        if (tokenRefused.test(line)) refused = true;
        log(`runner    ${line}`);
      }
    };
    child.stdout?.on("data", relay);
    child.stderr?.on("data", relay);
    child.once("exit", (code, signal) => {
      if (current === child) current = undefined;
      if (stopping) return;
      failures = Date.now() - startedAt >= healthyRunMs ? 1 : failures + 1;
      const delay = Math.min(maxRestartDelayMs, 1000 * 2 ** (failures - 1));
      log(
        `runner    !!! the local runner stopped (${signal ? `signal ${signal}` : `exit code ${code}`}): builds wait until it is back; ${refused ? "registering it again and " : ""}restarting it in ${delay / 1000} s`,
      );
      restartTimer = setTimeout(() => void restart(refused), delay);
    });
    current = child;
  };

  const restart = async (reregister: boolean) => {
    if (stopping) return;
    try {
      if (reregister) {
        rmSync(config, { force: true });
        await register();
      }
      if (!stopping) start();
    } catch (err) {
      if (stopping) return;
      failures++;
      const delay = Math.min(maxRestartDelayMs, 1000 * 2 ** (failures - 1));
      log(`runner    !!! ${err instanceof Error ? err.message : String(err)}; trying again in ${delay / 1000} s`);
      restartTimer = setTimeout(() => void restart(true), delay);
    }
  };

  if (!existsSync(config)) await register();
  start();
  log(
    `runner    local runner in the shared pool (labels: linux), jobs in ${workDir}, ${sandbox.ok ? "steps sandboxed (bubblewrap)" : `steps NOT sandboxed (--no-sandbox: ${sandbox.reason}); they run as you and can read your files`}`,
  );
  return {
    pid: () => current?.pid,
    stop: async () => {
      stopping = true;
      clearTimeout(restartTimer);
      if (current) await stopChild(current);
    },
  };
}
