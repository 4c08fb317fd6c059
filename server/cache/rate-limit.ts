import type { Cache } from "./cache.js";
import { keys } from "./keys.js";

export interface RateLimitRule {
  /** Names the limit in keys and logs, e.g. `login-ip`. */
  scope: string;
  limit: number;
  windowSeconds: number;
}

export interface RateLimitVerdict {
  allowed: boolean;
  remaining: number;
  /** Seconds until the current window ends. */
  resetAfter: number;
}

/** Checks a rule at build time: a limiter with a nonsensical rule must never be constructed. */
export function defineRateLimit(rule: RateLimitRule): RateLimitRule {
  if (!Number.isInteger(rule.limit) || rule.limit < 1) throw new Error(`rate limit ${rule.scope}: limit must be a positive integer`);
  if (!Number.isInteger(rule.windowSeconds) || rule.windowSeconds < 1) throw new Error(`rate limit ${rule.scope}: window must be a positive integer`);
  return rule;
}

/** One counter to bump: a rule and whom it counts (an IP, an email hash, both). */
export interface RateLimitHit {
  rule: RateLimitRule;
  subject: string;
}

/**
 * Fixed-window counters in one Redis transaction: each window's key is created with its expiry
 * if new, incremented and its TTL read; `reads` are plain GETs answered in the same round trip.
 * Fails open when the cache is down: locking every user out of login because Redis blinked is
 * the worse failure.
 */
export async function hitRateLimits(
  cache: Cache,
  hits: readonly RateLimitHit[],
  reads: readonly string[] = [],
  now = Date.now(),
): Promise<{ verdicts: RateLimitVerdict[]; values: (string | null)[] }> {
  try {
    const tx = cache.redis.multi();
    for (const { rule, subject } of hits) {
      const key = windowKey(rule, subject, now);
      tx.set(key, 0, { ex: rule.windowSeconds, nx: true });
      tx.incr(key);
      tx.ttl(key);
    }
    for (const key of reads) tx.get(key);
    const results = (await tx.exec()) as unknown[];
    const verdicts = hits.map(({ rule }, i) => {
      const count = Number(results[i * 3 + 1]);
      const ttl = Number(results[i * 3 + 2]);
      const resetAfter = ttl > 0 ? ttl : rule.windowSeconds;
      return { allowed: count <= rule.limit, remaining: Math.max(0, rule.limit - count), resetAfter };
    });
    const values = reads.map((_, i) => {
      const value = results[hits.length * 3 + i];
      return value === null || value === undefined ? null : String(value);
    });
    return { verdicts, values };
  } catch (err) {
    cache.reportError(`ratelimit:${hits.map((h) => h.rule.scope).join(",")}`, err);
    return { verdicts: hits.map(({ rule }) => ({ allowed: true, remaining: rule.limit, resetAfter: rule.windowSeconds })), values: reads.map(() => null) };
  }
}

/** The key of the window `now` falls in. */
export function windowKey(rule: RateLimitRule, subject: string, now = Date.now()): string {
  return keys.rateLimit(rule.scope, subject, Math.floor(now / 1000 / rule.windowSeconds));
}
