/**
 * Webhook deliveries (push hook, GitHub, GitLab): each is recorded once, atomically, so a
 * redelivered one starts nothing twice. {@link claimDelivery} runs inside the transaction of
 * whatever the delivery starts: the row and the build land together or not at all, and a
 * second delivery of the same id finds the first one's row and its outcome.
 */
import { and, desc, eq, isNull, type SQL } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { webhookDeliveries } from "../db/schema.js";
import type { Tx } from "../use-cases/trigger-build.js";

export type DeliverySource = "push-hook" | "github" | "gitlab";
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

/** Which delivery: its source, its id, and the receiver the id is unique within. */
export interface DeliveryKey {
  source: DeliverySource;
  deliveryId: string;
  /** The project a push hook or GitLab hook belongs to. */
  projectId?: string | null;
  /** The GitHub App installation an event came for. */
  installationId?: number | null;
}

export interface DeliveryRecord extends DeliveryKey {
  event: string;
  outcome: "started" | "ignored" | "failed";
  detail?: string | null;
  buildId?: string | null;
}

/** Thrown inside a transaction to undo its work when the delivery was received before. */
export class DuplicateDelivery extends Error {
  override readonly name = "DuplicateDelivery";
}

/**
 * Records a delivery; returns its row, or null when a delivery with the same key was recorded
 * before (by this call's twin running concurrently too: the unique key decides).
 */
export async function claimDelivery(tx: Tx | Db, record: DeliveryRecord): Promise<DeliveryRow | null> {
  const [row] = await tx
    .insert(webhookDeliveries)
    .values({
      source: record.source,
      deliveryId: record.deliveryId,
      projectId: record.projectId ?? null,
      installationId: record.installationId ?? null,
      event: record.event,
      outcome: record.outcome,
      detail: record.detail?.slice(0, 500) ?? null,
      buildId: record.buildId ?? null,
    })
    .onConflictDoNothing()
    .returning();
  return row ?? null;
}

/** The recorded delivery with this key, if any. */
export async function findDelivery(db: Db, key: DeliveryKey): Promise<DeliveryRow | null> {
  const nullable = <T>(column: Parameters<typeof eq>[0], value: T | null | undefined): SQL =>
    value === null || value === undefined ? isNull(column) : eq(column, value);
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.source, key.source),
        eq(webhookDeliveries.deliveryId, key.deliveryId),
        nullable(webhookDeliveries.projectId, key.projectId),
        nullable(webhookDeliveries.installationId, key.installationId),
      ),
    );
  return row ?? null;
}

/** A project's newest deliveries of one source. */
export function recentDeliveries(db: Db, projectId: string, source: DeliverySource, limit = 20): Promise<DeliveryRow[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.projectId, projectId), eq(webhookDeliveries.source, source)))
    .orderBy(desc(webhookDeliveries.receivedAt))
    .limit(limit);
}
