/**
 * Turns an occurrence into one delivery row per enabled channel of the project that subscribes
 * to its event. A row is unique per (channel, occurrence), so a repeated queue event adds none;
 * the rows still waiting for their first attempt are returned either way, so a caller that
 * failed to queue them last time queues them now (a delivery's attempts are claimed one at a
 * time, so a message queued twice sends once). Each channel keeps its newest {@link KEEP_PER_CHANNEL}.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { notificationChannels, notificationDeliveries } from "../db/schema.js";
import type { Occurrence } from "./detect.js";

/** Deliveries kept per channel: the delivery log is bounded. */
export const KEEP_PER_CHANNEL = 200;

/** Records `o` for its channels; the ids of its deliveries that have not been attempted yet. */
export async function recordOccurrence(db: Db, o: Occurrence): Promise<string[]> {
  const channels = await db
    .select({ id: notificationChannels.id })
    .from(notificationChannels)
    .where(
      and(
        eq(notificationChannels.projectId, o.projectId),
        eq(notificationChannels.enabled, true),
        sql`${notificationChannels.events} @> ${JSON.stringify([o.event])}::jsonb`,
      ),
    );
  if (channels.length === 0) return [];
  const rows = channels.map((c) => {
    const id = crypto.randomUUID();
    return { id, channelId: c.id, event: o.event, occurrence: o.key, payload: { id, ...o.payload } };
  });
  await db.insert(notificationDeliveries).values(rows).onConflictDoNothing();
  for (const c of channels) await prune(db, c.id);
  const waiting = await db
    .select({ id: notificationDeliveries.id })
    .from(notificationDeliveries)
    .where(
      and(
        inArray(
          notificationDeliveries.channelId,
          channels.map((c) => c.id),
        ),
        eq(notificationDeliveries.occurrence, o.key),
        eq(notificationDeliveries.status, "pending"),
        eq(notificationDeliveries.attempts, 0),
      ),
    );
  return waiting.map((w) => w.id);
}

/** Drops a channel's deliveries beyond its newest {@link KEEP_PER_CHANNEL}. */
export async function prune(db: Db, channelId: string): Promise<void> {
  await db.execute(sql`
    delete from notification_deliveries where id in (
      select id from notification_deliveries where channel_id = ${channelId}
      order by created_at desc, id desc offset ${KEEP_PER_CHANNEL})`);
}
