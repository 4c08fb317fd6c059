/**
 * Plain `sh`, for the baselines: commands started the way the runner starts a step
 * (node/steps.ts: its `sh -c` wrapper with stderr merged into stdout, its own process group,
 * the output read through a pipe and thrown away but for its last bytes), from a small Node
 * process of its own. Not from the bench process itself: that one hosts the embedded Postgres
 * (hundreds of MB), and fork() from a big process is slow in itself (about 30 ms here against
 * 3 ms), which would flatter the platform. No sandbox: plain `sh` is the baseline.
 */
import { spawn } from "node:child_process";

const source = `
const { spawn } = require("node:child_process");
let buffer = "";
process.stdin.on("data", (chunk) => {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf("\\n")) >= 0) {
    const { command, cwd } = JSON.parse(buffer.slice(0, nl));
    buffer = buffer.slice(nl + 1);
    const t0 = Date.now();
    const child = spawn("/bin/sh", ["-c", 'exec /bin/sh -c "$1" 2>&1', "sh", command], { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let bytes = 0;
    let tail = Buffer.alloc(0);
    const take = (d) => {
      bytes += d.length;
      tail = d.length >= 512 ? d.subarray(-512) : Buffer.concat([tail, d]).subarray(-512);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    let code = null;
    let open = 3;
    const end = () => {
      if (--open === 0) process.stdout.write(JSON.stringify({ t0, t1: Date.now(), code, bytes, tail: tail.toString() }) + "\\n");
    };
    child.stdout.once("close", end);
    child.stderr.once("close", end);
    child.once("exit", (c) => ((code = c), end()));
  }
});
`;

export interface ShellRun {
  /** Date.now() just before spawn. */
  t0: number;
  /** Date.now() once the shell exited and its output was read to the end. */
  t1: number;
  code: number | null;
  bytes: number;
  /** The output's last 512 bytes (or fewer). */
  tail: string;
}

export interface Shell {
  run(command: string, cwd: string): Promise<ShellRun>;
  stop(): void;
  /** The helper process that starts the commands. */
  pid: number;
}

export function startShell(): Shell {
  const child = spawn(process.execPath, ["-e", source], { stdio: ["pipe", "pipe", "inherit"] });
  let pending = "";
  const waiting: ((answer: ShellRun) => void)[] = [];
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
      const answer = JSON.parse(pending.slice(0, nl)) as ShellRun;
      pending = pending.slice(nl + 1);
      waiting.shift()?.(answer);
    }
  });
  return {
    // One command at a time: answers come back in order.
    run: (command, cwd) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin.write(`${JSON.stringify({ command, cwd })}\n`);
      }),
    stop: () => child.kill(),
    pid: child.pid ?? -1,
  };
}
