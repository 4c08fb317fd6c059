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

/**
 * Fixed-window counter in one Redis transaction: create the window's key with its expiry if it is
 * new, increment it, read its TTL. Fails open when the cache is down: locking every user out of
 * login because Redis blinked is the worse failure.
 */
export async function hitRateLimit(cache: Cache, rule: RateLimitRule, subject: string, now = Date.now()): Promise<RateLimitVerdict> {
  const window = Math.floor(now / 1000 / rule.windowSeconds);
  const key = keys.rateLimit(rule.scope, subject, window);
  try {
    const tx = cache.redis.multi();
    tx.set(key, 0, { ex: rule.windowSeconds, nx: true });
    tx.incr(key);
    tx.ttl(key);
    const [, count, ttl] = (await tx.exec()) as [unknown, number, number];
    const resetAfter = ttl > 0 ? ttl : rule.windowSeconds;
    return { allowed: count <= rule.limit, remaining: Math.max(0, rule.limit - count), resetAfter };
  } catch (err) {
    cache.reportError(`ratelimit:${rule.scope}`, err);
    return { allowed: true, remaining: rule.limit, resetAfter: rule.windowSeconds };
  }
}
