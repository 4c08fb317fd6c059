/**
 * bench/api: an authenticated GET /v1/projects/:id against `wrangler dev`, beside a bare Hono route
 * in the same workerd, at 10 and 50 connections. Prints p50/p95/p99 and requests per second for
 * both, and Sparki's ratio to the bare route. Goal: p95 within 1.3× of the bare route.
 * BENCH_DURATION_MS (20 s per target and connection count; 1 s at smoke size) scales it. A request
 * that is not answered 200 makes the run invalid (exit 1): figures over failing requests measure nothing.
 *
 * A second stack, the same but with tracing on (every request's span exported to an OTLP receiver
 * in a process of its own at the lowest CPU priority, the stand-in for a collector on another
 * host: bench/collector.ts), takes its turn in the same rounds, printed beside it, in two phases
 * that start the stacks in opposite orders, with the bare route served by each stack in turn.
 * Beside latency it prints each stack's CPU per request (wrangler and its workerds, from /proc),
 * which moves far less from run to run on this machine. Goal: within 5 % of tracing off.
 * BENCH_API_CONTROL=1 starts that stack with tracing off too: what the comparison shows between
 * two identical stacks, its noise floor. BENCH_API_TRACING_VARS (JSON of OTEL_* variables) adds
 * to the traced stack's, to tell which part of tracing costs what.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { z } from "zod";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack } from "../../dev/stack.js";
import { pool, runLoad, type LoadResult } from "../load.js";
import { size, sizeLabel, smoke } from "../size.js";
import { stackLog } from "../stack-log.js";
import { oneStartAtATime } from "../start-lock.js";
import { type Collector, startCollector } from "../collector.js";
import { inTurn } from "../alternate.js";
import { cpuSeconds, stackPids } from "../runner/proc.js";

const durationMs = size("BENCH_DURATION_MS", 20_000, 1000);
// The targets run in alternating short rounds, so a drift in the machine's load (2 shared cores)
// falls on all alike instead of on whichever ran last; each target's time is split over both phases.
const rounds = smoke ? 1 : 5;
const runMs = durationMs / (2 * rounds);
const control = process.env.BENCH_API_CONTROL === "1";
// More OTEL_* variables for the traced stack, as JSON (e.g. {"OTEL_TRACES_SAMPLER_ARG":"0"}), to
// tell what part of tracing costs what.
const tracingVars = z.record(z.string().regex(/^OTEL_/), z.string()).parse(JSON.parse(process.env.BENCH_API_TRACING_VARS ?? "{}"));
const warmMs = smoke ? 300 : 2000;

async function post(url: string, body: unknown, token?: string): Promise<Record<string, any>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, any>;
}

const fmt = (r: LoadResult) =>
  `p50 ${r.p50.toFixed(1)} ms  p95 ${r.p95.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  ${r.rps.toFixed(0)} req/s  (${r.requests} requests, ${r.errors} errors)`;

/** A stack running bench/api/worker.ts; `tracing` sends every span to that receiver. */
async function apiStack(tracing: Collector | null) {
  const stateDir = mkdtempSync(join(tmpdir(), "sparki-bench-api-"));
  const stackLines = stackLog();
  const stack = await oneStartAtATime(() =>
    startStack({
      stateDir,
      databaseUrl: process.env.DATABASE_URL || undefined,
      redisUrl: process.env.REDIS_URL || undefined,
      entry: "bench/api/worker.ts",
      // Per-request info lines go through wrangler's terminal relay locally, which production does
      // not have; the benchmark measures the request path, not the dev console.
      vars: { LOG_LEVEL: "warn", ...(tracing ? { OTEL_EXPORTER_OTLP_ENDPOINT: tracing.url, ...tracingVars } : {}) },
      log: stackLines.log,
    }),
  ).catch((err: unknown) => {
    rmSync(stateDir, { recursive: true, force: true });
    throw stackLines.explain(err);
  });
  const close = async () => {
    await stack.close();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const email = `bench-${Date.now()}@example.test`;
    await post(`${stack.apiUrl}/v1/auth/signup`, { email, password: "benchmark password", name: "Bench" });
    const token = String((await post(`${stack.apiUrl}/v1/auth/login`, { email, password: "benchmark password" })).accessToken);
    const ws = await post(`${stack.apiUrl}/v1/workspaces`, { name: "Bench" }, token);
    const project = await post(`${stack.apiUrl}/v1/workspaces/${ws.id}/projects`, { name: "bench", gitUrl: "https://github.com/acme/bench.git" }, token);
    if (stackPids(stateDir).length === 0) throw new Error(`no wrangler process found for ${stateDir}`);
    return {
      /** CPU seconds each of the stack's processes (wrangler, its workerds) has used so far, read afresh: wrangler may restart a workerd. */
      cpu: (): CpuSample => new Map(stackPids(stateDir).map((p) => [p.pid, { role: roleOf(p.cmd, stack.apiUrl), seconds: cpuSeconds(p.pid) }])),
      sparkiUrl: `${stack.apiUrl}/v1/projects/${project.id}`,
      bareUrl: `${stack.apiUrl}/__bare/projects/${project.id}`,
      auth: { authorization: `Bearer ${token}` },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** CPU seconds by process role: wrangler's Node, the proxy workerd in front, the Worker's workerd, the rest. */
type CpuByRole = Record<string, number>;
type CpuSample = Map<number, { role: string; seconds: number }>;

/** CPU used between two samples, by role, counting only processes alive at both. */
function cpuBetween(before: CpuSample, after: CpuSample): CpuByRole {
  const byRole: CpuByRole = {};
  for (const [pid, { role, seconds }] of after) {
    const start = before.get(pid)?.seconds;
    if (start !== undefined && Number.isFinite(start) && Number.isFinite(seconds)) byRole[role] = (byRole[role] ?? 0) + seconds - start;
  }
  return byRole;
}

function roleOf(cmd: string, apiUrl: string): string {
  if (/workerd\S* serve/.test(cmd)) return cmd.includes(`entry=127.0.0.1:${new URL(apiUrl).port} `) ? "proxy workerd" : "Worker workerd";
  return cmd.includes("wrangler") ? "wrangler node" : "other";
}

const connectionCounts = [10, 50] as const;
type Stack = Awaited<ReturnType<typeof apiStack>>;

/** One run of a stack's route, and the CPU its processes used meanwhile. */
interface RouteRun {
  load: LoadResult;
  cpu: CpuByRole;
}

/** Every run of one target at one connection count, over both phases. */
interface Runs {
  bare: LoadResult[];
  off: RouteRun[];
  on: RouteRun[];
}

const total = (cpu: CpuByRole) => Object.values(cpu).reduce((a, b) => a + b, 0);
const requestsOf = (runs: RouteRun[]) => runs.reduce((n, r) => n + r.load.requests, 0);
const cpuPerRequestMs = (runs: RouteRun[]) => (1000 * runs.reduce((n, r) => n + total(r.cpu), 0)) / requestsOf(runs);
/** CPU per request of each process role, in ms. */
function cpuPerRequestByRole(runs: RouteRun[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const r of runs) for (const [role, s] of Object.entries(r.cpu)) sums.set(role, (sums.get(role) ?? 0) + s);
  return new Map([...sums].map(([role, s]) => [role, (1000 * s) / requestsOf(runs)]));
}

/** The median over rounds of on's p95 over off's in the same round: a slow burst falls in one round only. */
function medianRoundRatio(runs: Runs): number {
  const ratios = runs.on.map((on, i) => on.load.p95 / (runs.off[i]?.load.p95 ?? NaN)).sort((a, b) => a - b);
  const mid = ratios.length / 2;
  return ratios.length % 2 ? (ratios[Math.floor(mid)] ?? NaN) : ((ratios[mid - 1] ?? NaN) + (ratios[mid] ?? NaN)) / 2;
}

/**
 * One phase: both stacks started (in the order given, one at a time), checked, warmed and loaded in
 * alternating rounds, then closed. The two phases start the stacks in opposite orders and the
 * figures pool both, so a bias of start order (which stack's processes came up first) falls on each
 * side alike. (The bias the control showed came from the bare route's placement, below.)
 */
async function phase(onFirst: boolean, collector: Collector, runs: Map<number, Runs>): Promise<number[]> {
  const start = (traced: boolean) => apiStack(traced && !control ? collector : null);
  const first = await start(onFirst);
  const second = await start(!onFirst).catch(async (err: unknown) => {
    await first.close();
    throw err;
  });
  const [off, on] = onFirst ? [second, first] : [first, second];
  try {
    const targets: [string, Record<string, string>][] = [
      [off.bareUrl, {}],
      [on.bareUrl, {}],
      [off.sparkiUrl, off.auth],
      [on.sparkiUrl, on.auth],
    ];
    // Each must answer 200 before any load: otherwise the run would time error pages. Then warm
    // each path (isolate, caches, connections) before measuring.
    for (const [url, headers] of targets) {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => {
        throw new Error(`GET ${url} before the load: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
      if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      await res.body?.cancel();
      await runLoad(url, { connections: 10, durationMs: warmMs, headers });
    }
    const ratios: number[] = [];
    for (const connections of connectionCounts) {
      const into = runs.get(connections) ?? { bare: [], off: [], on: [] };
      runs.set(connections, into);
      const load = async (stack: Stack): Promise<RouteRun> => {
        const before = stack.cpu();
        const result = await runLoad(stack.sparkiUrl, { connections, durationMs: runMs, headers: stack.auth });
        return { load: result, cpu: cpuBetween(before, stack.cpu()) };
      };
      const mine: Runs = { bare: [], off: [], on: [] };
      for (let round = 0; round < rounds; round++) {
        // The bare route lives in both stacks' Workers, and a stack just loaded through it reads
        // higher at p95 right after (an A/A run read 0.71× with it always in the first stack):
        // each stack serves it in turn.
        const bareIn = round % 2 === 0 ? off : on;
        mine.bare.push(await runLoad(bareIn.bareUrl, { connections, durationMs: runMs }));
        await inTurn(
          round,
          async () => mine.off.push(await load(off)),
          async () => mine.on.push(await load(on)),
        );
      }
      into.bare.push(...mine.bare);
      into.off.push(...mine.off);
      into.on.push(...mine.on);
      ratios.push(pool(mine.on.map((r) => r.load)).p95 / pool(mine.off.map((r) => r.load)).p95);
    }
    return ratios;
  } finally {
    await first.close();
    await second.close();
  }
}

async function benchApi(): Promise<string> {
  const collector = await startCollector();
  try {
    const runs = new Map<number, Runs>();
    const offFirst = await phase(false, collector, runs);
    const onFirst = await phase(true, collector, runs);

    console.log(sizeLabel);
    const ratios: string[] = [];
    const tracedRatios: string[] = [];
    let errors = 0;
    connectionCounts.forEach((connections, i) => {
      const { bare: bareRuns, off: routeRuns, on: tracedRuns } = runs.get(connections) as Runs;
      const bare = pool(bareRuns);
      const route = pool(routeRuns.map((r) => r.load));
      const traced = pool(tracedRuns.map((r) => r.load));
      const cpuOff = cpuPerRequestMs(routeRuns);
      const cpuOn = cpuPerRequestMs(tracedRuns);
      const median = medianRoundRatio(runs.get(connections) as Runs);
      const ratio = route.p95 / bare.p95;
      const tracedRatio = traced.p95 / route.p95;
      errors += bare.errors + route.errors + traced.errors + (bare.requests === 0 || route.requests === 0 || traced.requests === 0 ? 1 : 0);
      console.log(`\n${connections} connections, ${runMs / 1000} s a run, ${rounds} alternating rounds in each of 2 phases`);
      console.log(`  bare Hono route      ${fmt(bare)}`);
      console.log(`  GET /v1/projects/:id ${fmt(route)}`);
      console.log(
        `  ratio (Sparki/bare)  p50 ${(route.p50 / bare.p50).toFixed(2)}×  p95 ${ratio.toFixed(2)}×  p99 ${(route.p99 / bare.p99).toFixed(2)}×  req/s ${(route.rps / bare.rps).toFixed(2)}×`,
      );
      console.log(`  ${control ? "control, tracing off" : "tracing on          "} ${fmt(traced)}`);
      console.log(
        `  ratio (on/off)       p50 ${(traced.p50 / route.p50).toFixed(2)}×  p95 ${tracedRatio.toFixed(2)}×  req/s ${(traced.rps / route.rps).toFixed(2)}×` +
          `  (p95 by phase: ${offFirst[i]?.toFixed(2)}× off started first, ${onFirst[i]?.toFixed(2)}× on started first; median of rounds ${median.toFixed(2)}×)`,
      );
      console.log(
        `  CPU per request      off ${cpuOff.toFixed(2)} ms, ${control ? "control" : "on"} ${cpuOn.toFixed(2)} ms: ${(cpuOn / cpuOff).toFixed(2)}× (wrangler and its workerds, from /proc)`,
      );
      const offByRole = cpuPerRequestByRole(routeRuns);
      const onByRole = cpuPerRequestByRole(tracedRuns);
      for (const [role, off] of offByRole)
        console.log(`    ${role.padEnd(16)} off ${off.toFixed(3)} ms, ${control ? "control" : "on"} ${(onByRole.get(role) ?? NaN).toFixed(3)} ms`);
      ratios.push(`${connections} conns p95 ${ratio.toFixed(2)}×`);
      tracedRatios.push(
        `${connections} conns p95 ${tracedRatio.toFixed(2)}× (median of rounds ${median.toFixed(2)}×), CPU per request ${(cpuOn / cpuOff).toFixed(2)}×`,
      );
    });
    const spans = await collector.count();
    console.log(`\nspans received with tracing on: ${spans} (by a collector in its own process at nice 19)`);
    if (spans === 0 && !control) errors += 1;
    if (errors > 0) process.exitCode = 1;
    const invalid = errors > 0 ? `; INVALID RUN: ${errors} requests failed, a target got none, or no span arrived` : "";
    return `SUMMARY api: authenticated GET /v1/projects/:id vs bare Hono route, p95 ratio ${ratios.join(", ")} (goal ≤ 1.30×); ${control ? "control (tracing off) vs off" : "tracing on vs off"} ${tracedRatios.join(", ")} (goal ≤ 1.05×)${invalid}; ${sizeLabel}`;
  } finally {
    collector.close();
  }
}

console.log(await benchApi());
