/**
 * This isolate's share of the metrics: recorded in memory on the request path (no I/O), sent to
 * the Metrics object at most every few seconds from waitUntil, so they add up across isolates.
 */
import { Registry, secondsBuckets } from "../server/metrics/registry.js";
import type { Bindings } from "../server/config.js";
import { metricsObject } from "../server/objects/clients.js";

const pending = new Registry();
let lastFlush = 0;
const flushEveryMs = 5000;

/** Records one API request: its duration, and its error type when it failed. */
export function recordRequest(method: string, endpoint: string, status: number, seconds: number, errorType: string | undefined): void {
  pending.observe("sparki_api_request_duration_seconds", { method, endpoint, status: String(status) }, seconds, secondsBuckets);
  if (status >= 400) pending.inc("sparki_api_request_errors_total", { method, endpoint, error_type: errorType ?? String(status) });
}

/** A cache lookup's outcome (no per-project label: the series stay few). */
export function recordCacheLookup(hit: boolean): void {
  pending.inc(hit ? "sparki_build_cache_hits_total" : "sparki_build_cache_misses_total", {});
}

/** Bytes of cache archives served to runners or stored from them. */
export function recordCacheBytes(direction: "restored" | "saved", bytes: number): void {
  pending.inc(direction === "restored" ? "sparki_build_cache_restored_bytes_total" : "sparki_build_cache_saved_bytes_total", {}, bytes);
}

/** Sends what this isolate recorded, when enough time has passed (or at once with `force`). */
export async function flushMetrics(env: Bindings, force = false): Promise<void> {
  const now = Date.now();
  if (!force && now - lastFlush < flushEveryMs) return;
  lastFlush = now;
  const deltas = pending.drain();
  if (deltas.length === 0) return;
  try {
    await metricsObject(env).record(deltas);
  } catch {
    // Put them back: a later flush delivers them.
    for (const d of deltas) pending.merge([d]);
  }
}
