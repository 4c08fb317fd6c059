/**
 * While smokes run side by side (bench/run.ts), their stacks start one at a time: two
 * `wrangler dev` starting together can both pick the free inspector port 9229, and the one that
 * binds second exits ("Address already in use"). bench/run.ts names the lock (a directory) in
 * SPARKI_BENCH_START_LOCK and frees it if a benchmark dies holding it; run alone, there is none.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const startLockVariable = "SPARKI_BENCH_START_LOCK";

/** Runs `start` holding the start lock, if there is one. */
export async function oneStartAtATime<T>(start: () => Promise<T>): Promise<T> {
  const lock = process.env[startLockVariable];
  if (!lock) return start();
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "owner"), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await start();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Frees the lock if process `pid` (which has ended) still holds it. */
export function freeStartLock(lock: string, pid: number | undefined): void {
  try {
    if (Number(readFileSync(join(lock, "owner"), "utf8")) === pid) rmSync(lock, { recursive: true, force: true });
  } catch {
    // not held, or held by another
  }
}
