/**
 * A closed-loop HTTP load generator: `connections` clients each send their next request as soon as
 * the previous answer arrives, for `durationMs`. Latencies are kept whole, so any percentile is exact.
 */
import { Agent, request } from "node:http";

export interface LoadResult {
  /** Every request's latency in ms, sorted. */
  latencies: number[];
  /** Seconds spent sending. */
  seconds: number;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
}

export async function runLoad(url: string, options: { connections: number; durationMs: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + options.durationMs;
  const started = performance.now();
  const once = () =>
    new Promise<void>((done) => {
      const t0 = performance.now();
      const req = request(url, { agent, headers: options.headers }, (res) => {
        res.resume();
        res.on("end", () => {
          latencies.push(performance.now() - t0);
          if (res.statusCode !== 200) errors += 1;
          done();
        });
      });
      req.on("error", () => {
        errors += 1;
        done();
      });
      req.end();
    });
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (Date.now() < deadline) await once();
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return summarize(latencies, errors, elapsed);
}

function summarize(latencies: number[], errors: number, seconds: number): LoadResult {
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { latencies, seconds, requests: latencies.length, errors, rps: latencies.length / seconds, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** Pools several runs of the same target into one result (percentiles over every request). */
export function pool(runs: LoadResult[]): LoadResult {
  return summarize(
    runs.flatMap((r) => r.latencies),
    runs.reduce((n, r) => n + r.errors, 0),
    runs.reduce((n, r) => n + r.seconds, 0),
  );
}
