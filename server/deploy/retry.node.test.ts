/**
 * The platform retry policy as pure functions: what is retried, for which calls, and how long a
 * call may wait. The adapters' tests prove the same against the platforms' HTTP fakes.
 */
import { describe, expect, it } from "vitest";
import { isRetryableStatus } from "../../core/deploy/adapter.ts";
import { BACKOFF_BASE_MS, backoffMs, MAX_ATTEMPTS, mayRetry, nextWait, parseRetryAfter, RETRY_BUDGET_MS, sleep } from "./retry.ts";

const NOW = Date.parse("2026-12-02T03:00:00Z");

describe("parseRetryAfter", () => {
  it("reads delay-seconds and HTTP-dates, and nothing else", () => {
    expect(parseRetryAfter("7", NOW)).toBe(7000);
    expect(parseRetryAfter(" 0 ", NOW)).toBe(0);
    expect(parseRetryAfter("Wed, 02 Dec 2026 03:00:12 GMT", NOW)).toBe(12_000);
    expect(parseRetryAfter("Wednesday, 02-Dec-26 03:00:05 GMT", NOW)).toBe(5000);
    // A date already past means "now", never a negative wait.
    expect(parseRetryAfter("Wed, 02 Dec 2026 02:00:00 GMT", NOW)).toBe(0);
    for (const bad of [null, "", "-5", "1.5", "soon", "Wed, 99 Foo 2026 GMT"]) expect(parseRetryAfter(bad, NOW)).toBeNull();
  });
});

describe("mayRetry", () => {
  it("retries transient statuses for idempotent calls and only a 429 for the rest", () => {
    for (const s of [0, 408, 429, 502, 503, 504]) expect(mayRetry(s, true)).toBe(true);
    for (const s of [200, 400, 401, 403, 404, 409, 422, 500, 501]) expect(mayRetry(s, true)).toBe(false);
    expect(mayRetry(429, false)).toBe(true);
    for (const s of [0, 408, 500, 502, 503, 504]) expect(mayRetry(s, false)).toBe(false);
  });

  it("the error's retryable flag is one rule: no answer, 408, 429, 5xx", () => {
    for (const s of [0, 408, 429, 500, 501, 502, 503, 504, 599]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [200, 202, 400, 401, 403, 404, 409, 422, 600]) expect(isRetryableStatus(s)).toBe(false);
  });
});

describe("backoff and the wait budget", () => {
  it("full jitter: between 0 and a ceiling that doubles per attempt", () => {
    expect(backoffMs(1, () => 0)).toBe(0);
    expect(backoffMs(1, () => 0.999)).toBeLessThan(BACKOFF_BASE_MS);
    expect(backoffMs(3, () => 0.999)).toBeLessThan(BACKOFF_BASE_MS * 4);
    expect(backoffMs(3, () => 0.999)).toBeGreaterThanOrEqual(BACKOFF_BASE_MS * 2);
    expect(backoffMs(60, () => 0.999)).toBeLessThan(RETRY_BUDGET_MS);
  });

  it("never waits less than the platform asked, stops when the budget or the attempts run out", () => {
    const f = { status: 429, idempotent: true, attempt: 1, sleptMs: 0 };
    expect(nextWait({ ...f, hintMs: 7000 }, () => 0)).toBe(7000);
    expect(nextWait({ ...f, hintMs: null }, () => 0.5)).toBe(BACKOFF_BASE_MS / 2);
    // Asked for longer than a call may wait: no attempt in process (the orchestrator comes back).
    expect(nextWait({ ...f, hintMs: RETRY_BUDGET_MS + 1 })).toBeNull();
    expect(nextWait({ ...f, hintMs: 10_000, sleptMs: RETRY_BUDGET_MS - 5000 })).toBeNull();
    expect(nextWait({ ...f, hintMs: 0, attempt: MAX_ATTEMPTS })).toBeNull();
    expect(nextWait({ ...f, status: 400, hintMs: null })).toBeNull();
    expect(nextWait({ ...f, status: 503, idempotent: false, hintMs: null })).toBeNull();
  });

  it("sleep ends early when the signal aborts", async () => {
    const stop = new AbortController();
    const waiting = sleep(60_000, stop.signal);
    stop.abort();
    await expect(waiting).resolves.toBeUndefined();
  });
});
