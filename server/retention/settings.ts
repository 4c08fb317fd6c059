/**
 * A workspace's retention: the defaults (core/contracts/retention.ts) overlaid with its own rows
 * in `workspace_retention`. Only a kind that differs from its default has a row, so changing a
 * default in code reaches every workspace that never chose otherwise.
 */
import { and, eq, inArray } from "drizzle-orm";
import { defaultRetentionDays, retentionKinds, type RetentionKind, type UpdateRetentionBody } from "../../core/contracts/retention.js";
import type { Db } from "../db/client.js";
import { workspaceRetention } from "../db/schema.js";

export interface RetentionSettingRow {
  kind: RetentionKind;
  days: number;
  custom: boolean;
  updatedAt: string | null;
}

/** Every kind's setting for the workspace, in the order of `retentionKinds`. */
export async function readRetention(db: Pick<Db, "select">, workspaceId: string): Promise<RetentionSettingRow[]> {
  const rows = await db.select().from(workspaceRetention).where(eq(workspaceRetention.workspaceId, workspaceId));
  return retentionKinds.map((kind) => {
    const row = rows.find((r) => r.kind === kind);
    return row
      ? { kind, days: row.days, custom: true, updatedAt: row.updatedAt.toISOString() }
      : { kind, days: defaultRetentionDays[kind], custom: false, updatedAt: null };
  });
}

/**
 * Applies a change: a number sets a kind's days, null returns it to the default. Returns what
 * changed (kind to days, null for default) for the audit log.
 */
export async function writeRetention(
  db: Pick<Db, "insert" | "delete">,
  workspaceId: string,
  change: UpdateRetentionBody,
  updatedBy: string | null,
): Promise<Partial<Record<RetentionKind, number | null>>> {
  const applied: Partial<Record<RetentionKind, number | null>> = {};
  const reset: RetentionKind[] = [];
  for (const kind of retentionKinds) {
    const days = change[kind];
    if (days === undefined) continue;
    applied[kind] = days;
    if (days === null) {
      reset.push(kind);
      continue;
    }
    await db
      .insert(workspaceRetention)
      .values({ workspaceId, kind, days, updatedBy })
      .onConflictDoUpdate({ target: [workspaceRetention.workspaceId, workspaceRetention.kind], set: { days, updatedBy, updatedAt: new Date() } });
  }
  if (reset.length > 0) {
    await db.delete(workspaceRetention).where(and(eq(workspaceRetention.workspaceId, workspaceId), inArray(workspaceRetention.kind, reset)));
  }
  return applied;
}
