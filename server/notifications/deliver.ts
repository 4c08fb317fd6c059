/**
 * One attempt of one notification: the delivery row is claimed for this attempt (so a message
 * the queue delivers twice sends once; a claim left without an outcome for
 * {@link STALE_ATTEMPT_SECONDS} is taken over, so a consumer that failed mid-way loses nothing), the channel's URL opened and checked against the
 * outbound policy, the message POSTed with a timeout that also bounds reading the answer (at
 * most {@link ANSWER_MAX_BYTES} of it is read), and the outcome written to the delivery log.
 * Redirects are not followed: a channel that moved is refused, and says so.
 *
 * A webhook gets the payload as JSON, signed like the push hook: `X-Sparki-Signature-256:
 * sha256=<hex HMAC-SHA256 of the body>` under the channel's key, with `X-Sparki-Delivery` (the
 * same id on every attempt) and `X-Sparki-Event`. A Slack channel gets `{text, blocks}`.
 */
import { and, eq, lt, or, sql } from "drizzle-orm";
import { NotificationPayload, notifyHeaders } from "../../core/contracts/notifications.js";
import { fetchChecked, OutboundRefused, outboundProblem } from "../../core/net/outbound.js";
import { attemptOutcome, retryDelaySeconds } from "../../core/notifications/retry.js";
import { slackMessage } from "../../core/notifications/slack.js";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { notificationChannels, notificationDeliveries } from "../db/schema.js";
import { readCapped } from "../http/read-capped.js";
import { hmacSha256Hex } from "../webhooks/hmac.js";
import { openChannelUrl, openSigningKey } from "./channel-keys.js";

/** The most of a channel's answer that is read (Slack's reasons are a few words). */
export const ANSWER_MAX_BYTES = 4096;
/** One attempt's time, the answer included. */
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** A claimed attempt with no outcome after this long was left by a consumer that failed. */
export const STALE_ATTEMPT_SECONDS = 30;

export interface DeliverDeps {
  db: Db;
  config: Pick<Config, "SECRETS_KEY" | "ALLOW_LOCAL_OUTBOUND">;
  fetcher?: (url: string, init: RequestInit) => Promise<Response>;
  timeoutMs?: number;
}

export type AttemptResult =
  | { skipped: string }
  | { status: "delivered"; responseStatus: number }
  | { status: "failed"; responseStatus: number | null; error: string }
  | { status: "pending"; responseStatus: number | null; error: string; retryInSeconds: number };

/** Makes attempt `attempt` of delivery `deliveryId`. */
export async function deliverAttempt(deps: DeliverDeps, deliveryId: string, attempt: number): Promise<AttemptResult> {
  const { db } = deps;
  // The attempt's claim; or, when this attempt was claimed longer ago than any attempt can take,
  // its claimer died before writing the outcome (Postgres failed), and this message takes it over.
  const [claimed] = await db
    .update(notificationDeliveries)
    .set({ attempts: attempt, lastAttemptAt: sql`now()`, nextAttemptAt: null })
    .where(
      and(
        eq(notificationDeliveries.id, deliveryId),
        eq(notificationDeliveries.status, "pending"),
        or(
          eq(notificationDeliveries.attempts, attempt - 1),
          and(
            eq(notificationDeliveries.attempts, attempt),
            lt(notificationDeliveries.lastAttemptAt, sql`now() - make_interval(secs => ${STALE_ATTEMPT_SECONDS})`),
          ),
        ),
      ),
    )
    .returning();
  if (!claimed) return { skipped: "already attempted, delivered or given up" };
  const [channel] = await db.select().from(notificationChannels).where(eq(notificationChannels.id, claimed.channelId));
  if (!channel) return { skipped: "channel removed" };

  const result = await send(deps, channel, claimed.payload, attempt);
  const now = new Date();
  await db
    .update(notificationDeliveries)
    .set({
      status: result.status,
      responseStatus: result.responseStatus,
      error: result.status === "delivered" ? null : result.error.slice(0, 500),
      deliveredAt: result.status === "delivered" ? now : null,
      nextAttemptAt: result.status === "pending" ? new Date(now.getTime() + result.retryInSeconds * 1000) : null,
    })
    .where(eq(notificationDeliveries.id, deliveryId));
  return result;
}

type Channel = typeof notificationChannels.$inferSelect;
type Outcome = Exclude<AttemptResult, { skipped: string }>;

async function send(deps: DeliverDeps, channel: Channel, stored: unknown, attempt: number): Promise<Outcome> {
  if (!channel.enabled) return { status: "failed", responseStatus: null, error: "the channel is disabled" };
  const payload = NotificationPayload.safeParse(stored);
  if (!payload.success) return { status: "failed", responseStatus: null, error: "the stored message is not a notification" };
  const url = await openChannelUrl(deps.config, channel.projectId, channel.id, channel.urlCiphertext);
  if (!url) return { status: "failed", responseStatus: null, error: "the channel's URL cannot be opened (SECRETS_KEY changed?); add the channel again" };

  const body = JSON.stringify(channel.kind === "slack" ? slackMessage(payload.data) : payload.data);
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "Sparki-Notifications/1" };
  if (channel.kind === "webhook") {
    const key = channel.signingCiphertext ? await openSigningKey(deps.config, channel.projectId, channel.id, channel.signingCiphertext) : null;
    if (!key) return { status: "failed", responseStatus: null, error: "the channel's signing key cannot be opened; add the channel again" };
    headers[notifyHeaders.signature] = `sha256=${await hmacSha256Hex(key, new TextEncoder().encode(body))}`;
    headers[notifyHeaders.delivery] = payload.data.id;
    headers[notifyHeaders.event] = payload.data.event;
  }

  const policy = { development: deps.config.ALLOW_LOCAL_OUTBOUND === true };
  const signal = AbortSignal.timeout(deps.timeoutMs ?? ATTEMPT_TIMEOUT_MS);
  let status: number;
  let answer: string | null;
  let retryAfter: number | null = null;
  try {
    const res = await fetchChecked(url, { method: "POST", headers, body, signal }, (u) => outboundProblem(u, policy), deps.fetcher ?? fetch, { follow: false });
    status = res.status;
    const hint = res.headers.get("retry-after");
    if (hint && /^\d{1,6}$/.test(hint)) retryAfter = Number(hint);
    answer = await readCapped(res, ANSWER_MAX_BYTES);
  } catch (err) {
    if (err instanceof OutboundRefused) return { status: "failed", responseStatus: null, error: `refused: the URL ${err.message.replace(/^\S+ /, "")}` };
    const timedOut = signal.aborted || (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"));
    return retryOrFail(attempt, null, timedOut ? "timed out" : "unreachable", null);
  }
  if (status >= 300 && status < 400)
    return { status: "failed", responseStatus: status, error: `HTTP ${status}: redirects are not followed; use the final URL` };
  const outcome = attemptOutcome(status);
  if (outcome === "delivered") return { status: "delivered", responseStatus: status };
  const reason = `HTTP ${status}${answer ? `: ${printable(answer)}` : answer === null ? " (answer too large)" : ""}`;
  if (outcome === "refused") return { status: "failed", responseStatus: status, error: reason };
  return retryOrFail(attempt, status, reason, retryAfter);
}

function retryOrFail(attempt: number, responseStatus: number | null, error: string, retryAfter: number | null): Outcome {
  const delay = retryDelaySeconds(attempt, retryAfter);
  return delay === null
    ? { status: "failed", responseStatus, error: `${error} (gave up after ${attempt} attempts)` }
    : { status: "pending", responseStatus, error, retryInSeconds: delay };
}

/** The start of an answer as one printable line. */
function printable(text: string): string {
  return text
    .replace(/[^\x20-\x7e]+/g, " ")
    .trim()
    .slice(0, 200);
}
