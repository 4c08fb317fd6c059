/**
 * The end-to-end tests' stacks: {@link startTestStack} starts one as a test wants it, and
 * {@link sharedStack} hands the files of one test worker the same stack, one file after another
 * (vitest runs a worker's files in turn). A stack's start costs seconds of CPU (wrangler and its
 * bundle, workerd, PGlite and its migrations); most files ask nothing special of it.
 *
 * A file hands the shared stack on only when it left no work in it: no build, job or deployment
 * still running or queued (a following file's shared-pool runner would take the job) and no
 * runner killed without telling its pool it left (it would still count as online). Otherwise the
 * stack is closed and the next file starts a fresh one. With DATABASE_URL set (the machine's
 * PostgreSQL) each shared stack gets a database of its own, so that check sees its work only.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startStack, type Stack, type StackOptions } from "../../dev/stack.js";
import { createDatabase, dropDatabase } from "./shared-databases.js";

/** A stack started as the tests start them: quiet Worker logs, the given shared-pool token, retried on a port collision. */
export async function startTestStack(work: string, sharedToken: string, log: (line: string) => void, options: StackOptions = {}): Promise<Stack> {
  // startStack picks free ports (preferring 54320-54322 and 8787) and binds them later, so a
  // stack starting at the same moment elsewhere on the machine can take one in between. Such a
  // collision is retried a few times; anything else fails at once.
  for (let attempt = 1; ; attempt++) {
    const said: string[] = [];
    try {
      return await startStack({
        stateDir: join(work, `state-${attempt}`),
        databaseUrl: process.env.DATABASE_URL || undefined,
        redisUrl: process.env.REDIS_URL || undefined,
        log: (line) => {
          said.push(line);
          log(line);
        },
        ...options,
        vars: { SHARED_RUNNER_TOKEN: sharedToken, LOG_LEVEL: "warn", ...options.vars },
      });
    } catch (err) {
      const collided = /EADDRINUSE|address already in use/i.test(String(err)) || said.some((l) => /EADDRINUSE|address already in use/i.test(l));
      if (!collided || attempt >= 3) throw err;
      console.warn(`startStack: a port was taken between picking and binding (${String(err)}); starting again`);
    }
  }
}

interface Shared {
  stack: Stack;
  sharedToken: string;
  work: string;
  /** The database made for it on the machine's PostgreSQL (dropped with it), if any. */
  database?: { adminUrl: string; name: string };
}

let shared: Promise<Shared> | undefined;
/** The shared stack that is up now, for {@link killOnExit}. */
let live: Shared | undefined;
let exitHandled = false;
/** Where the shared stack's lines go: the log of the file using it now. */
let sink: string[] = [];

/** Keeps a stack's last 200 lines in `log` (for failure messages). */
export function keepLine(log: string[], line: string): void {
  log.push(line);
  if (log.length > 200) log.shift();
}

function relay(line: string): void {
  keepLine(sink, line);
}

/** The test worker's shared stack, started on first use; its lines go to `log` from now on. */
export async function sharedStack(log: string[]): Promise<{ stack: Stack; sharedToken: string }> {
  sink = log;
  const previous = await shared?.catch(() => undefined);
  // A stack whose API stopped answering (its wrangler died) is not handed on.
  if (previous && !(await answers(previous.stack))) {
    shared = undefined;
    relay("e2e       the shared stack's API does not answer: starting a fresh one");
    await closeShared(previous);
  }
  shared ??= startShared();
  try {
    return await shared;
  } catch (err) {
    shared = undefined;
    throw err;
  }
}

async function answers(stack: Stack): Promise<boolean> {
  try {
    const res = await fetch(`${stack.apiUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function startShared(): Promise<Shared> {
  const work = mkdtempSync(join(tmpdir(), "sparki-e2e-shared-"));
  const sharedToken = `e2e-shared-${randomBytes(12).toString("hex")}`;
  let database: Shared["database"];
  try {
    const options: StackOptions = {};
    if (process.env.DATABASE_URL) {
      database = await createDatabase(process.env.DATABASE_URL);
      options.databaseUrl = withDatabase(process.env.DATABASE_URL, database.name);
    }
    const stack = await startTestStack(work, sharedToken, relay, options);
    live = { stack, sharedToken, work, ...(database ? { database } : {}) };
    if (!exitHandled) killOnExit();
    exitHandled = true;
    return live;
  } catch (err) {
    if (database) await dropDatabase(database).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A file is done with the shared stack (its runners already stopped): it stays up for the next
 * file unless the file left work in it or killed a runner.
 */
export async function leaveSharedStack(left: { runnerKilled: boolean }): Promise<void> {
  const current = await shared?.catch(() => undefined);
  if (!current) return;
  const unfinished = left.runnerKilled
    ? "a runner killed"
    : await unfinishedWork(current.stack.databaseUrl).catch((err: unknown) => `its database could not be asked (${String(err)})`);
  if (!unfinished) return;
  shared = undefined;
  relay(`e2e       the shared stack is closed, not handed on: ${unfinished}`);
  await closeShared(current);
}

/** What the stack still has to do, in words, or null when nothing. */
async function unfinishedWork(databaseUrl: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ builds: number; jobs: number; deployments: number }>(
      `select (select count(*)::int from builds where status in ('queued', 'running')) as builds,
              (select count(*)::int from jobs where status in ('queued', 'claimed', 'running')) as jobs,
              (select count(*)::int from deployments where status in ('pending', 'deploying', 'verifying', 'rolling_back')) as deployments`,
    );
    const counts = rows[0] ?? { builds: 0, jobs: 0, deployments: 0 };
    const left = Object.entries(counts).filter(([, n]) => n > 0);
    return left.length === 0 ? null : left.map(([what, n]) => `${n} ${what} unfinished`).join(", ");
  } finally {
    await client.end();
  }
}

async function closeShared(current: Shared): Promise<void> {
  if (live === current) live = undefined;
  await current.stack.close();
  if (current.database) await dropDatabase(current.database).catch(() => undefined);
  if (process.env.E2E_KEEP) console.log(`kept ${current.work}`);
  else rmSync(current.work, { recursive: true, force: true });
}

/**
 * The worker process ends without awaiting anything (vitest sends SIGTERM, then SIGKILL): the
 * stack's wrangler runs in a process group of its own and would outlive it. Its stores (PGlite,
 * the cache, the proxy) live in this process and end with it; its database, if any, is dropped
 * by the global setup's teardown (test/global-setup-node.ts).
 */
function killOnExit(): void {
  const kill = () => {
    const group = live?.stack.wranglerGroup();
    if (group !== undefined) {
      try {
        process.kill(-group, "SIGKILL");
      } catch {
        // gone already
      }
    }
    if (live && !process.env.E2E_KEEP) rmSync(live.work, { recursive: true, force: true });
    live = undefined;
  };
  process.once("exit", kill);
  // With a SIGTERM listener Node no longer exits on SIGTERM by itself.
  process.once("SIGTERM", () => {
    kill();
    process.exit(143);
  });
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
