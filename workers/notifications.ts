/**
 * The queue consumer's notification steps (server/notifications/): after `build.completed` and
 * `deployment.changed`, what happened is recorded as one delivery per subscribed channel and
 * each is queued as `notify.deliver`; a `notify.deliver` makes one attempt and, when the channel
 * answered 429, 5xx or nothing, queues the next one with a growing delay
 * (core/notifications/retry.ts). Only Postgres being unreachable fails the build or deployment
 * message (retried, like its other steps); any other failure to record is logged.
 */
import type { SparkiEvent } from "../core/contracts/events.js";
import { SparkiError } from "../core/errors.js";
import { configOf, type Bindings } from "../server/config.js";
import { connect, type Db } from "../server/db/client.js";
import { deliverAttempt } from "../server/notifications/deliver.js";
import { buildOccurrence, deploymentOccurrence, type Occurrence } from "../server/notifications/detect.js";
import { recordOccurrence } from "../server/notifications/record.js";
import { describeError, type Logger } from "./log.js";

export type NotifyTrigger = { buildId: string; status: string } | { releaseId: string };

/** Records and queues the notifications `trigger` makes; never throws. */
export async function notifyChannels(env: Bindings, trigger: NotifyTrigger, log: Logger): Promise<void> {
  const config = configOf(env);
  try {
    const ids = await withDb(env, async (db) => {
      const o: Occurrence | null =
        "buildId" in trigger
          ? await buildOccurrence(db, trigger.buildId, trigger.status, config.PUBLIC_URL)
          : await deploymentOccurrence(db, trigger.releaseId, config.PUBLIC_URL);
      return o ? recordOccurrence(db, o) : [];
    });
    await queueAttempts(env, ids);
  } catch (err) {
    // Postgres down: the event's message is retried (its other steps are retry-safe too). Any
    // other failure is logged and dropped, so it never holds up a deployment.
    if (err instanceof SparkiError && err.code === "database_unavailable") throw err;
    log.warn("notifications could not be recorded", { ...describeError(err) });
  }
}

/** Queues the first attempt of each delivery. */
export async function queueAttempts(env: Pick<Bindings, "EVENTS">, deliveryIds: string[]): Promise<void> {
  if (deliveryIds.length === 0) return;
  const occurredAt = new Date().toISOString();
  await env.EVENTS.sendBatch(
    deliveryIds.map((deliveryId) => ({
      body: { type: "notify.deliver", deliveryId, attempt: 1, correlationId: deliveryId, occurredAt } satisfies SparkiEvent,
    })),
  );
}

/** Makes one attempt of a delivery and queues the next when the channel may answer later. */
export async function deliverNotification(env: Bindings, deliveryId: string, attempt: number, log: Logger): Promise<void> {
  const config = configOf(env);
  const result = await withDb(env, (db) => deliverAttempt({ db, config }, deliveryId, attempt));
  if ("skipped" in result) return;
  log.info(`notification ${deliveryId} attempt ${attempt}: ${result.status}${result.responseStatus ? ` (HTTP ${result.responseStatus})` : ""}`);
  if (result.status !== "pending") return;
  const next: SparkiEvent = { type: "notify.deliver", deliveryId, attempt: attempt + 1, correlationId: deliveryId, occurredAt: new Date().toISOString() };
  await env.EVENTS.send(next, { delaySeconds: result.retryInSeconds });
}

async function withDb<T>(env: Bindings, work: (db: Db) => Promise<T>): Promise<T> {
  const config = configOf(env);
  const { db, close } = await connect(config.DATABASE_URL, config.NEON_WS_PROXY);
  try {
    return await work(db);
  } finally {
    await close();
  }
}
