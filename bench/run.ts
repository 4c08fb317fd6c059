/**
 * `npm run bench [name…]`: runs each benchmark (`bench/<name>/run.ts`, all by default) at full size
 * as its own process, one after another, streaming its figures, then prints every benchmark's
 * one-line summary together.
 *
 * `npm run bench:smoke [name…]` (`--smoke`, what .ci/run runs) runs them at smoke size
 * (bench/size.ts): the same code paths in seconds, each within a time limit (BENCH_SMOKE_LIMIT_S,
 * 180 s), so a benchmark that no longer works fails CI. Smokes measure nothing, so they run
 * BENCH_SMOKE_JOBS (2) at a time, their lines prefixed with their name. Their figures are printed
 * with how long each smoke took, and are not performance figures: docs/PERFORMANCE.md records
 * full sizes only.
 *
 * Before anything starts, each benchmark's Worker entry is checked to export every Durable Object
 * class its wrangler config binds (bench/entries.ts). Each benchmark gets a scratch directory, and
 * at smoke size a database, of its own; whatever it leaves running is stopped (bench/isolation.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkEntries } from "./entries.js";
import { type Isolation, isolate } from "./isolation.js";
import { freeStartLock, startLockVariable } from "./start-lock.js";

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const available = readdirSync(benchDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(benchDir, d.name, "run.ts")))
  .map((d) => d.name)
  .sort();

function positive(variable: string, fallback: number): number {
  const value = Number(process.env[variable] || fallback);
  if (Number.isFinite(value) && value > 0) return value;
  console.error(`${variable}=${process.env[variable]}: expected a number > 0`);
  process.exit(2);
}

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const wanted = args.filter((a) => a !== "--smoke");
const unknown = wanted.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; choose from ${available.join(", ")}`);
  process.exit(2);
}
const limitSeconds = positive("BENCH_SMOKE_LIMIT_S", 180);
// Full sizes run alone: a benchmark's figures must not carry another one's load.
const jobs = smoke ? Math.floor(positive("BENCH_SMOKE_JOBS", 2)) : 1;

const running = new Map<ChildProcess, Isolation>();
// Side by side, stacks start one at a time (bench/start-lock.ts): a directory that only exists while held.
const startLock = jobs > 1 ? join(tmpdir(), `sparki-bench-start-${process.pid}.lock`) : undefined;

/** Signals the benchmark's whole process group (it runs detached, so the terminal's ^C misses it). */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, sig);
  } catch {
    // already gone
  }
}

interface Result {
  name: string;
  /** Its SUMMARY line, or why it failed. */
  line: string;
  ok: boolean;
  seconds: number;
}

/** Copies a benchmark's output line by line (prefixed when several run at once); returns its SUMMARY. */
function relay(child: ChildProcess, name: string): () => string | undefined {
  let summary: string | undefined;
  const prefix = jobs > 1 ? `[${name}] ` : "";
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    let pending = "";
    const write = (line: string) => {
      out.write(`${prefix}${line}\n`);
      if (stream === child.stdout && line.startsWith("SUMMARY ")) summary = line.slice("SUMMARY ".length);
    };
    stream?.on("data", (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) write(line);
    });
    stream?.on("end", () => pending && write(pending));
  }
  return () => summary;
}

async function runOne(name: string): Promise<Result> {
  // Full sizes keep DATABASE_URL as given, like the runs docs/PERFORMANCE.md records.
  const isolation = await isolate(name, { freshDatabase: smoke });
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", join(benchDir, name, "run.ts")], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, BENCH_SIZE: smoke ? "smoke" : "full", ...isolation.env, ...(startLock ? { [startLockVariable]: startLock } : {}) },
  });
  running.set(child, isolation);
  const summary = relay(child, name);
  // A smoke that outlasts its limit is as broken as one that fails: SIGTERM lets it close its stack.
  let timedOut = false;
  let kill: NodeJS.Timeout | undefined;
  const limit = smoke
    ? setTimeout(() => {
        timedOut = true;
        console.log(`!! bench/${name} is still running after ${limitSeconds} s: stopping it`);
        signal(child, "SIGTERM");
        kill = setTimeout(() => signal(child, "SIGKILL"), 15_000);
      }, limitSeconds * 1000)
    : undefined;
  const code = await new Promise<number>((done) => child.on("close", (c, sig) => done(c ?? (sig ? 128 : 1))));
  const seconds = (performance.now() - started) / 1000;
  if (startLock) freeStartLock(startLock, child.pid);
  clearTimeout(limit);
  clearTimeout(kill);
  await isolation.release();
  running.delete(child);
  const line = summary();
  const ok = code === 0 && !timedOut && line !== undefined;
  const why = timedOut ? `stopped after ${limitSeconds} s` : code !== 0 ? `failed (exit ${code})` : line === undefined ? "printed no SUMMARY line" : "";
  return { name, line: ok ? (line as string) : `${name}: ${why}${line ? `; ${line}` : ""}`, ok, seconds };
}

const onSignal = (sig: NodeJS.Signals) => {
  for (const child of running.keys()) signal(child, sig);
  void Promise.allSettled([...running.values()].map((i) => i.release())).finally(() => process.exit(130));
};
process.once("SIGINT", onSignal);
process.once("SIGTERM", onSignal);

const started = performance.now();
const names = wanted.length > 0 ? wanted : available;
const results: Result[] = [];
const broken = await checkEntries(names);
for (const problem of broken) console.log(`!! ${problem}`);
const queue = names.filter((name) => {
  const problem = broken.find((p) => p.startsWith(`bench/${name}/`));
  // Its stack could not become healthy: 90 s spent to learn nothing more.
  if (problem) results.push({ name, line: `${name}: not run: ${problem}`, ok: false, seconds: 0 });
  return !problem;
});
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      console.log(`\n### bench/${name}${smoke ? " (smoke size)" : ""}`);
      results.push(await runOne(name).catch((err: unknown) => ({ name, line: `${name}: could not start: ${String(err)}`, ok: false, seconds: 0 })));
    }
  }),
);

results.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
console.log(`\n${results.map((r) => r.line).join("\n")}`);
if (smoke) {
  // How long each smoke took, so CI's budget stays visible; not a benchmark figure.
  console.log(`\nsmoke runs, ${jobs} at a time (not performance figures):`);
  for (const r of results) console.log(`  ${r.name.padEnd(10)} ${r.ok ? "ok    " : "FAILED"} ${r.seconds.toFixed(1).padStart(6)} s`);
  console.log(`  all        ${results.every((r) => r.ok) ? "ok    " : "FAILED"} ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s`);
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
