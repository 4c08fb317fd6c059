/**
 * What a benchmark left running. Its stack starts `wrangler dev` (and so workerd and esbuild) in a
 * process group of its own, the runner starts steps in theirs, Playwright starts Chromium: a
 * benchmark that crashes or is stopped mid-run can leave any of them behind, holding ports and
 * CPU that the next benchmark, or the test suite after the smokes in CI, would then share.
 *
 * bench/run.ts starts each benchmark with SPARKI_BENCH_RUN=<its scratch directory> and TMPDIR
 * set to that directory, so everything it starts either inherits the variable or works under the
 * directory (a sandboxed step's environment is cleared, but its cwd is there). Linux (/proc) only.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export const runVariable = "SPARKI_BENCH_RUN";

function belongs(pid: string, scratch: string): boolean {
  try {
    if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`${runVariable}=${scratch}`)) return true;
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    if (cwd === scratch || cwd.startsWith(`${scratch}/`)) return true;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`${scratch}/`);
  } catch {
    // Gone meanwhile, or not ours to read.
    return false;
  }
}

/** The processes of the run whose scratch directory is `scratch` (never this process). */
export function leftovers(scratch: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid && belongs(entry, scratch))
    .map(Number);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Stops the run's leftover processes: SIGTERM, then SIGKILL for those still there after
 * `graceMs`. Returns the pids it found.
 */
export async function reap(scratch: string, graceMs = 5000): Promise<number[]> {
  const found = leftovers(scratch);
  for (const pid of found) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (found.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of found.filter(alive)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
