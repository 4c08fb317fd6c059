/**
 * Login throttling that slows the attacker, not the owner. Attempts are counted before the
 * password is checked (so a burst of parallel guesses is counted too) per client IP, per
 * (email, IP) and per email. The per-email limit stops a guessing campaign spread over many
 * IPs, and is high enough that a stranger's single IP runs into its own limits long before it;
 * an IP where this email has logged in successfully in the last 30 days is exempt from it, so
 * even a campaign that exhausts it does not lock the owner out from their usual place.
 */
import type { Context } from "hono";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import { defineRateLimit, hitRateLimits, windowKey, type RateLimitHit } from "../../server/cache/rate-limit.js";
import { auditOutcome } from "../services/audit.js";
import { hashToken } from "./tokens.js";

export const loginLimits = {
  perEmailAndIp: defineRateLimit({ scope: "login-email-ip", limit: 10, windowSeconds: 900 }),
  perIp: defineRateLimit({ scope: "login-ip", limit: 100, windowSeconds: 900 }),
  perEmail: defineRateLimit({ scope: "login-email", limit: 100, windowSeconds: 3600 }),
} as const;
const knownIpSeconds = 30 * 24 * 3600;

const knownKey = (emailHash: string, ip: string) => `login:known:${emailHash}:${ip}`;

/** Counts a login attempt; throws 429 (audited) when one of its limits is exhausted. */
export async function countLoginAttempt(c: Context<AppEnv>, email: string, ip: string | null): Promise<void> {
  const emailHash = await hashToken(email);
  const hits: RateLimitHit[] = [{ rule: loginLimits.perEmail, subject: emailHash }];
  if (ip) hits.push({ rule: loginLimits.perEmailAndIp, subject: `${emailHash}:${ip}` }, { rule: loginLimits.perIp, subject: ip });
  const { verdicts, values } = await hitRateLimits(c.var.cache, hits, ip ? [knownKey(emailHash, ip)] : []);
  const knownIp = values[0] !== null && values[0] !== undefined;
  const blocked = hits.findIndex((hit, i) => !verdicts[i]?.allowed && !(hit.rule === loginLimits.perEmail && knownIp));
  if (blocked === -1) return;
  const { rule } = hits[blocked] as RateLimitHit;
  const resetAfter = verdicts[blocked]?.resetAfter ?? rule.windowSeconds;
  await auditOutcome(c, { eventType: "auth", action: "auth.login", result: "denied", userId: null, details: { reason: "rate_limited", scope: rule.scope } });
  throw new SparkiError("rate_limited", { detail: `Too many login attempts; try again in ${resetAfter} s.`, retryAfter: resetAfter });
}

/** After a successful login: this IP is known for the email, and its failures there are forgiven. */
export async function loginSucceeded(c: Context<AppEnv>, email: string, ip: string | null): Promise<void> {
  if (!ip) return;
  const emailHash = await hashToken(email);
  try {
    const tx = c.var.cache.redis.multi();
    tx.set(knownKey(emailHash, ip), "1", { ex: knownIpSeconds });
    tx.del(windowKey(loginLimits.perEmailAndIp, `${emailHash}:${ip}`));
    await tx.exec();
  } catch (err) {
    c.var.cache.reportError("login-known-ip", err);
  }
}
