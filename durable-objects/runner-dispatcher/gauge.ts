/**
 * A pool's gauges. `sparki_jobs_waiting`: label sets come from pipelines, so a tenant could make
 * any number of them: the largest {@link maxGaugeLabelSets} get a series each and the rest are
 * summed under one, so a pool never has more series than that. `sparki_pool_runners_online`:
 * one series per pool, whatever its runners' labels.
 */
import { gaugeLabels, maxGaugeLabelSets, otherLabels, type QueuedLabels } from "../../server/objects/runner-dispatcher/protocol.js";

export function gaugeSeries(queue: readonly QueuedLabels[]): { labels: Record<string, string>; value: number }[] {
  const bySize = [...queue].sort((a, b) => b.jobs - a.jobs || gaugeLabels(a.labels).localeCompare(gaugeLabels(b.labels)));
  const shown = bySize.slice(0, maxGaugeLabelSets).map((q) => ({ labels: { labels: gaugeLabels(q.labels) }, value: q.jobs }));
  const rest = bySize.slice(maxGaugeLabelSets).reduce((sum, q) => sum + q.jobs, 0);
  return rest > 0 ? [...shown, { labels: { labels: otherLabels }, value: rest }] : shown;
}

/**
 * Every runner of a pool online (claimed or heartbeated within the online window), by pool only:
 * unlike `sparki_runners_online` it has a series with no job waiting, so an operator can graph a
 * pool's runners and alert when they are gone.
 */
export const poolRunnersOnlineGauge = "sparki_pool_runners_online";

/** Whether a runner last heard from at `seenAt` is online at `now`. */
export function isOnline(seenAt: number, now: number, windowMs: number): boolean {
  return seenAt >= now - windowMs;
}

/** A pool's runners as its gauge shows them, and when that count next changes by itself. */
export interface PoolRunners {
  online: number;
  /**
   * Whether the pool still remembers a runner: then the series stays, at 0 once all are offline
   * (an alert can see a pool lose its runners); a pool that remembers none has no series.
   */
  remembered: boolean;
  /** When the first runner online drops out of the window, or else the last remembered is forgotten. */
  nextChangeAt: number | null;
}

/** `seenAt`: when each runner the pool remembers (not yet forgotten after `keepMs`) was last heard from. */
export function poolRunners(seenAt: readonly number[], now: number, windowMs: number, keepMs: number): PoolRunners {
  const online = seenAt.filter((at) => isOnline(at, now, windowMs));
  if (online.length > 0) return { online: online.length, remembered: true, nextChangeAt: Math.min(...online) + windowMs + 1 };
  if (seenAt.length > 0) return { online: 0, remembered: true, nextChangeAt: Math.min(...seenAt) + keepMs + 1 };
  return { online: 0, remembered: false, nextChangeAt: null };
}
