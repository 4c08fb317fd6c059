/**
 * What each benchmark run by bench/run.ts gets of its own, and gives back when it ends:
 *  - a scratch directory, its TMPDIR (so its stack's state, repositories and Chromium profile land
 *    there), marked in its environment, so that what it leaves running can be found and stopped
 *    afterwards (bench/reap.ts) instead of holding ports and CPU the next benchmark or the test
 *    suite would share;
 *  - at smoke size, when DATABASE_URL names a Postgres server (.ci/run does), a fresh database on
 *    it, dropped afterwards, as the test suite does (test/stack-plan.ts): the embedded PGlite
 *    takes 5 to 20 s to start on a busy 2-core machine, longer than most smokes themselves.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropDatabase, ensureDatabase } from "../dev/migrate.js";
import { reap, runVariable } from "./reap.js";

export interface Isolation {
  /** Environment variables for the benchmark's process. */
  env: Record<string, string>;
  /** Stops what it left running, removes its scratch directory and drops its database. */
  release(): Promise<void>;
}

export async function isolate(name: string, options: { freshDatabase: boolean }): Promise<Isolation> {
  const scratch = mkdtempSync(join(tmpdir(), `sparki-bench-${name}-`));
  const env: Record<string, string> = { TMPDIR: scratch, [runVariable]: scratch };
  const server = process.env.DATABASE_URL;
  let database: string | undefined;
  if (options.freshDatabase && server) {
    database = `sparki_bench_${name}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
    try {
      await ensureDatabase(server, database);
    } catch (err) {
      rmSync(scratch, { recursive: true, force: true });
      throw err;
    }
    const url = new URL(server);
    url.pathname = `/${database}`;
    env.DATABASE_URL = url.toString();
  }
  let released = false;
  return {
    env,
    async release() {
      if (released) return;
      released = true;
      const left = await reap(scratch);
      if (left.length > 0) console.log(`(bench/${name} left ${left.length} processes running: ${left.join(", ")}; stopped them)`);
      rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
      if (server && database)
        await dropDatabase(server, database).catch((err: unknown) => console.log(`(could not drop the database ${database}: ${String(err)})`));
    },
  };
}
