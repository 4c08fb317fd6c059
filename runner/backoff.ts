/**
 * Full-jitter exponential backoff (a random wait between 0 and min(cap, base·2^attempt)), as
 * in AWS's "Exponential Backoff and Jitter": it spreads a fleet of runners that lost the
 * control plane at the same moment instead of having them return in lock-step.
 */

/** Backoff settings; validated when built, not when the first retry happens. */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000 };

/** A policy object: the attempt counter and the delay rule. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {
    if (!(options.baseMs > 0 && options.capMs >= options.baseMs)) throw new RangeError("backoff needs 0 < baseMs <= capMs");
  }

  /** The next wait; `atLeastMs` honours a server's Retry-After. */
  next(atLeastMs = 0): number {
    const ceiling = Math.min(this.options.capMs, this.options.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.max(atLeastMs, Math.floor(this.random() * ceiling));
  }

  /** A call succeeded: start from the base again. */
  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds, `shouldRetry` says no, `attempts` are used up or the signal
 * aborts; the last error is rethrown.
 */
export async function retry<T>(
  fn: () => Promise<T>,
  opts: { shouldRetry: (err: unknown) => boolean; attempts: number; backoff?: BackoffOptions; signal?: AbortSignal; retryAfterMs?: (err: unknown) => number },
): Promise<T> {
  const backoff = new Backoff(opts.backoff);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= opts.attempts || !opts.shouldRetry(err) || opts.signal?.aborted) throw err;
      await sleep(backoff.next(opts.retryAfterMs?.(err) ?? 0), opts.signal);
    }
  }
}
