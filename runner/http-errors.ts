/** The runner's two kinds of failed call, and what each means for a retry or a lease. */

/** The server answered with an error status. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    readonly detail: string,
    /** From Retry-After, when the server sent one. */
    readonly retryAfterMs: number | null,
  ) {
    super(`HTTP ${status}: ${detail}`);
  }
}

/** The server could not be reached, or the answer did not parse: worth retrying. */
export class NetworkError extends Error {
  override readonly name = "NetworkError";
}

/** Retry decided by status: 429, 5xx and network failures are transient; other 4xx are not. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof HttpError) return err.status === 429 || err.status >= 500;
  return false;
}

/** The wait a 429 or 503 asked for (Retry-After), for retry(); 0 when it named none. */
export function retryAfterMs(err: unknown): number {
  return err instanceof HttpError ? (err.retryAfterMs ?? 0) : 0;
}

/**
 * retry()'s policy for a call to the control plane: transient failures ({@link isRetryable}) are
 * tried again up to `attempts` times in all, each wait at least what Retry-After asked for.
 */
export function transientRetry(attempts: number, signal?: AbortSignal) {
  return { attempts, shouldRetry: isRetryable, retryAfterMs, ...(signal ? { signal } : {}) };
}

/**
 * 409 on a job route: the lease is no longer ours (stale fencing token, requeued, not held);
 * 401 there: the job token is refused (expired, or the runner was revoked). Either way stop.
 */
export function isLeaseLost(err: unknown): boolean {
  return err instanceof HttpError && (err.status === 409 || err.status === 401);
}
