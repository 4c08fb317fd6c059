/**
 * The retry policy of every platform call (server/deploy/platform-http.ts), as pure functions so
 * it is tested without a network or a clock. Our own ~60 lines rather than a library: the rules
 * that matter here (idempotency per call, a platform's Retry-After against a hard cap) are ours,
 * and it must run unchanged in workerd.
 *
 * - Statuses retried in process: 408, 429, 502, 503, 504 and no answer at all (status 0). A 500 or
 *   501 is a platform bug more often than a blip, so it is left to the orchestrator's next poll.
 * - A call that is not idempotent (it creates something) is retried only after a 429: the
 *   platform refused it before doing anything (RFC 6585), so sending it again cannot duplicate
 *   it. After a 5xx, a timeout or a lost connection the platform may have acted, so it is not.
 * - Waits are full-jitter exponential (AWS, "Exponential Backoff and Jitter"), never shorter than
 *   the platform's Retry-After, and a call sleeps at most {@link RETRY_BUDGET_MS} in all: a
 *   platform that asks for longer gets no further attempt in process, and the error says when to
 *   come back (retryAfterMs, capped too) so a hostile answer cannot stall a deployment.
 */

/** Attempts per call, the first included. */
export const MAX_ATTEMPTS = 4;
/** The most one call sleeps between its attempts, in all; also the cap on a reported retryAfterMs. */
export const RETRY_BUDGET_MS = 30_000;
/** The first backoff ceiling; it doubles per attempt. */
export const BACKOFF_BASE_MS = 250;

const RETRIED = new Set([0, 408, 429, 502, 503, 504]);

/** Whether a failed attempt with this status may be sent again, given what the call does. */
export function mayRetry(status: number, idempotent: boolean): boolean {
  return idempotent ? RETRIED.has(status) : status === 429;
}

/**
 * A Retry-After value in milliseconds from `now`: delay-seconds or an HTTP-date (RFC 9110
 * §10.2.3). Anything else (negative, fractional, garbage) is no hint at all.
 */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP-date names a weekday and GMT; Date.parse alone would also take "1" or "2026".
  if (!/^[A-Za-z]{3,9}, .+ GMT$/.test(v)) return null;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The full-jitter wait before attempt `attempt + 1` (attempt counts from 1). */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY_BUDGET_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt - 1, 16));
  return Math.floor(random() * ceiling);
}

/**
 * How long to wait before the next attempt, or null to stop now: attempts used up, a status
 * not retried for this call, or a wait (the platform's hint or the backoff) beyond what is left
 * of the budget after `sleptMs`.
 */
export function nextWait(
  f: { status: number; hintMs: number | null; idempotent: boolean; attempt: number; sleptMs: number },
  random?: () => number,
): number | null {
  if (f.attempt >= MAX_ATTEMPTS || !mayRetry(f.status, f.idempotent)) return null;
  const wait = Math.max(f.hintMs ?? 0, backoffMs(f.attempt, random));
  return f.sleptMs + wait > RETRY_BUDGET_MS ? null : wait;
}

/** Resolves after `ms`, or early when `signal` aborts (the caller checks the signal after). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
