/**
 * bench/api: an authenticated GET /v1/projects/:id against `wrangler dev`, beside a bare Hono route
 * in the same workerd, at 10 and 50 connections. Prints p50/p95/p99 and requests per second for
 * both, and Sparki's ratio to the bare route. Goal: p95 within 1.3× of the bare route.
 * BENCH_DURATION_MS (10 s per connection count; 1 s at smoke size) scales it. A request that is
 * not answered 200 makes the run invalid (exit 1): figures over failing requests measure nothing.
 *
 * A second stack, the same but with tracing on (every request's span exported to an OTLP receiver
 * in a process of its own at the lowest CPU priority, the stand-in for a collector on another
 * host: bench/collector.ts), takes its turn in the same rounds, printed beside it.
 * Goal: within 5 % of tracing off. BENCH_API_CONTROL=1 starts that stack with tracing off too:
 * what the comparison shows between two identical stacks, its noise floor.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack } from "../../dev/stack.js";
import { pool, runLoad, type LoadResult } from "../load.js";
import { size, sizeLabel, smoke } from "../size.js";
import { stackLog } from "../stack-log.js";
import { oneStartAtATime } from "../start-lock.js";
import { type Collector, startCollector } from "../collector.js";

const durationMs = size("BENCH_DURATION_MS", 10_000, 1000);
// Both targets run in alternating short rounds, so a drift in the machine's load (2 shared cores)
// falls on both alike instead of on whichever ran second.
const rounds = smoke ? 1 : 5;
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
      vars: { LOG_LEVEL: "warn", ...(tracing ? { OTEL_EXPORTER_OTLP_ENDPOINT: tracing.url } : {}) },
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
    return {
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

const control = process.env.BENCH_API_CONTROL === "1";

async function benchApi(): Promise<string> {
  const collector = await startCollector();
  const off = await apiStack(null);
  const on = await apiStack(control ? null : collector).catch(async (err: unknown) => {
    await off.close();
    throw err;
  });
  try {
    const { sparkiUrl, bareUrl, auth } = off;
    const tracedUrl = on.sparkiUrl;
    const tracedAuth = on.auth;

    // Each must answer 200 before any load: otherwise the run would time error pages.
    for (const [url, headers] of [
      [sparkiUrl, auth],
      [bareUrl, {}],
      [tracedUrl, tracedAuth],
    ] as const) {
      const res = await fetch(url, { headers });
      if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      await res.body?.cancel();
    }
    // Warm both paths (isolate, caches, connections) before measuring.
    await runLoad(sparkiUrl, { connections: 10, durationMs: warmMs, headers: auth });
    await runLoad(bareUrl, { connections: 10, durationMs: warmMs });
    await runLoad(tracedUrl, { connections: 10, durationMs: warmMs, headers: tracedAuth });

    console.log(sizeLabel);
    const ratios: string[] = [];
    const tracedRatios: string[] = [];
    let errors = 0;
    for (const connections of [10, 50]) {
      const bareRuns: LoadResult[] = [];
      const routeRuns: LoadResult[] = [];
      const tracedRuns: LoadResult[] = [];
      for (let round = 0; round < rounds; round++) {
        bareRuns.push(await runLoad(bareUrl, { connections, durationMs: durationMs / rounds }));
        // Off and on swap places every round: a stack loaded right after the other inherits its tail.
        const offRun = () => runLoad(sparkiUrl, { connections, durationMs: durationMs / rounds, headers: auth });
        const onRun = () => runLoad(tracedUrl, { connections, durationMs: durationMs / rounds, headers: tracedAuth });
        if (round % 2 === 0) {
          routeRuns.push(await offRun());
          tracedRuns.push(await onRun());
        } else {
          tracedRuns.push(await onRun());
          routeRuns.push(await offRun());
        }
      }
      const bare = pool(bareRuns);
      const route = pool(routeRuns);
      const traced = pool(tracedRuns);
      const ratio = route.p95 / bare.p95;
      const tracedRatio = traced.p95 / route.p95;
      errors += bare.errors + route.errors + traced.errors + (bare.requests === 0 || route.requests === 0 || traced.requests === 0 ? 1 : 0);
      console.log(`\n${connections} connections, ${durationMs / 1000} s each in ${rounds} alternating rounds`);
      console.log(`  bare Hono route      ${fmt(bare)}`);
      console.log(`  GET /v1/projects/:id ${fmt(route)}`);
      console.log(
        `  ratio (Sparki/bare)  p50 ${(route.p50 / bare.p50).toFixed(2)}×  p95 ${ratio.toFixed(2)}×  p99 ${(route.p99 / bare.p99).toFixed(2)}×  req/s ${(route.rps / bare.rps).toFixed(2)}×`,
      );
      console.log(`  ${control ? "control, tracing off" : "tracing on          "} ${fmt(traced)}`);
      console.log(
        `  ratio (on/off)       p50 ${(traced.p50 / route.p50).toFixed(2)}×  p95 ${tracedRatio.toFixed(2)}×  req/s ${(traced.rps / route.rps).toFixed(2)}×`,
      );
      ratios.push(`${connections} conns p95 ${ratio.toFixed(2)}×`);
      tracedRatios.push(`${connections} conns p95 ${tracedRatio.toFixed(2)}×`);
    }
    const spans = await collector.count();
    console.log(`\nspans received with tracing on: ${spans} (by a collector in its own process at nice 19)`);
    if (spans === 0 && !control) errors += 1;
    if (errors > 0) process.exitCode = 1;
    const invalid = errors > 0 ? `; INVALID RUN: ${errors} requests failed, a target got none, or no span arrived` : "";
    return `SUMMARY api: authenticated GET /v1/projects/:id vs bare Hono route, p95 ratio ${ratios.join(", ")} (goal ≤ 1.30×); ${control ? "control (tracing off) vs off" : "tracing on vs off"} ${tracedRatios.join(", ")} (goal ≤ 1.05×)${invalid}; ${sizeLabel}`;
  } finally {
    await off.close();
    await on.close();
    collector.close();
  }
}

console.log(await benchApi());
