/**
 * The heartbeat loop: keeps a job's lease alive and learns about cancels. It beats about
 * three times per lease, so one lost beat never costs the lease, and reports a 409 (the
 * lease was taken away) so the job stops at once instead of finishing work nobody accepts.
 */
import type { Job } from "../core/contracts/runner.ts";
import { isLeaseLost, isRetryable, type ControlPlaneClient } from "./client.ts";

export interface HeartbeatOptions {
  client: ControlPlaneClient;
  job: Job;
  onCancel: () => void;
  onLeaseLost: () => void;
  say: (message: string) => void;
  /** Clock, for tests; defaults to Date.now. */
  now?: () => number;
}

/** Running heartbeat; `stop` ends it and waits for a beat in flight. */
export interface Heartbeat {
  stop(): Promise<void>;
}

const MIN_INTERVAL_MS = 200;
const MAX_INTERVAL_MS = 10_000;

function intervalFor(leaseExpiresAt: string, now: number): number {
  const remaining = Date.parse(leaseExpiresAt) - now;
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.floor(remaining / 3)));
}

/** Starts beating for a claimed job. */
export function startHeartbeat(opts: HeartbeatOptions): Heartbeat {
  const now = opts.now ?? Date.now;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  let cancelled = false;
  let stopped = false;

  const beat = async (): Promise<void> => {
    let next = intervalFor(opts.job.leaseExpiresAt, now());
    try {
      const res = await opts.client.heartbeat(opts.job.jobId, { leaseId: opts.job.leaseId, fencingToken: opts.job.fencingToken }, abort.signal);
      next = intervalFor(res.leaseExpiresAt, now());
      if (res.cancel && !cancelled) {
        cancelled = true;
        opts.onCancel();
      }
    } catch (err) {
      if (stopped) return;
      if (isLeaseLost(err)) {
        stopped = true;
        opts.onLeaseLost();
        return;
      }
      // Transient: try again sooner, the lease still has two beats' worth of time.
      if (isRetryable(err)) next = Math.max(MIN_INTERVAL_MS, Math.floor(next / 2));
      opts.say(`heartbeat for job ${opts.job.jobId} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    schedule(next);
  };

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = beat();
    }, ms);
  };

  schedule(intervalFor(opts.job.leaseExpiresAt, now()));
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      abort.abort();
      await inFlight;
    },
  };
}
