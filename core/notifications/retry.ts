/**
 * When a notification is tried again. A channel's answer decides, never its text: 2xx is
 * delivered; 429, 408 and 5xx, a timeout or no answer are tried again with exponential backoff;
 * any other 4xx is refused for good (Slack's invalid_payload, no_service, channel_not_found: the
 * same message would be refused again), as is an address the outbound policy refuses.
 */

/** Attempts per notification, the first included. */
export const NOTIFY_MAX_ATTEMPTS = 6;
/** The first retry's delay; it doubles per attempt (30 s, 60 s, 2 min, 4 min, 8 min). */
export const NOTIFY_BASE_DELAY_SECONDS = 30;
/** The most one retry waits, whatever the channel's Retry-After says. */
export const NOTIFY_MAX_DELAY_SECONDS = 15 * 60;

/** What an attempt's outcome means: null status for no answer at all. */
export function attemptOutcome(status: number | null): "delivered" | "retry" | "refused" {
  if (status === null) return "retry";
  if (status >= 200 && status < 300) return "delivered";
  if (status === 429 || status === 408 || status >= 500) return "retry";
  return "refused";
}

/**
 * Seconds before attempt `attempt + 1`, or null when `attempt` was the last. A channel's
 * Retry-After (seconds) is honoured up to the cap.
 */
export function retryDelaySeconds(attempt: number, retryAfterSeconds: number | null = null): number | null {
  if (attempt >= NOTIFY_MAX_ATTEMPTS) return null;
  const backoff = NOTIFY_BASE_DELAY_SECONDS * 2 ** (attempt - 1);
  return Math.min(NOTIFY_MAX_DELAY_SECONDS, Math.max(backoff, retryAfterSeconds ?? 0));
}
