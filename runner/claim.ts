/**
 * The claim loop: long-polls for work while the runner has a free slot. An empty answer
 * (204) polls again at once; 429, 5xx and network failures back off with full jitter
 * (honouring Retry-After); any other 4xx stops the loop, because asking again cannot help
 * (a revoked token, a protocol mismatch).
 */
import type { Job } from "../core/contracts/runner.ts";
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import { HttpError, isRetryable, retryAfterMs, type ControlPlaneClient } from "./client.ts";

export interface ClaimLoopOptions {
  client: ControlPlaneClient;
  /** Free slots now; the loop waits on {@link ClaimLoopOptions.slotFreed} while it is 0. */
  freeSlots: () => number;
  slotFreed: () => Promise<void>;
  onJob: (job: Job) => void;
  /** Aborting stops the loop, including a long-poll in flight. */
  signal: AbortSignal;
  say: (message: string) => void;
  backoff?: BackoffOptions;
  /** Runtime labels this runner found (runner/runtimes.ts), reported with every claim. */
  runtimes?: readonly string[];
}

/** The loop ended because the server refused the runner for good. */
export class ClaimRefusedError extends Error {
  override readonly name = "ClaimRefusedError";
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(
      status === 401
        ? `the control plane rejected this runner's token (${detail}); register it again`
        : `the control plane refused to hand out jobs: HTTP ${status}: ${detail}`,
    );
  }
}

/** Runs until `signal` aborts (resolves) or the server refuses the runner (rejects). */
export async function claimLoop(opts: ClaimLoopOptions): Promise<void> {
  const backoff = new Backoff(opts.backoff);
  // One listener for the whole loop, not one per wait for a slot.
  const aborted = new Promise<void>((resolve) => opts.signal.addEventListener("abort", () => resolve(), { once: true }));
  let failing = false;
  while (!opts.signal.aborted) {
    const free = opts.freeSlots();
    if (free <= 0) {
      await Promise.race([opts.slotFreed(), aborted]);
      continue;
    }
    try {
      const job = await opts.client.claim({ capacity: free, ...(opts.runtimes?.length ? { runtimes: [...opts.runtimes] } : {}) }, opts.signal);
      if (failing) opts.say("control plane reachable again");
      failing = false;
      backoff.reset();
      if (job) opts.onJob(job);
    } catch (err) {
      if (opts.signal.aborted) return;
      if (!isRetryable(err)) {
        if (err instanceof HttpError) throw new ClaimRefusedError(err.status, err.detail);
        throw err;
      }
      const wait = backoff.next(retryAfterMs(err));
      opts.say(`claim failed (${err instanceof Error ? err.message : String(err)}), retrying in ${(wait / 1000).toFixed(1)} s`);
      failing = true;
      await sleep(wait, opts.signal);
    }
  }
}
