/**
 * Writes what Postgres must learn (build status and timings, job rows) from the coordinator's
 * outbox, and the queue events that must follow those writes (`build.completed`). A failed write stays in the outbox and is retried by the alarm with backoff, so a
 * Postgres outage delays the record but never loses it.
 */
import { sql } from "drizzle-orm";
import { z } from "zod";
import { SparkiEvent } from "../../core/contracts/events.js";
import { connect } from "../../server/db/client.js";
import { builds, jobs } from "../../server/db/schema.js";
import type { Bindings } from "../../server/config.js";
import type { Store } from "./store.js";

export const BuildRecord = z.object({
  id: z.uuid(),
  status: z.string(),
  attempt: z.number().int(),
  commitSha: z.string().nullable(),
  error: z.string().nullable(),
  startedAt: z.number().nullable(),
  completedAt: z.number().nullable(),
});

export const JobRecord = z.object({
  id: z.string(),
  buildId: z.uuid(),
  key: z.string(),
  name: z.string(),
  kind: z.string(),
  status: z.string(),
  exitCode: z.number().int().nullable(),
  runnerId: z.string().nullable(),
  attempt: z.number().int(),
  steps: z.array(z.unknown()),
  startedAt: z.number().nullable(),
  completedAt: z.number().nullable(),
});

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

/** Sends every queued write; returns false when Postgres refused or could not be reached. */
export async function flushOutbox(store: Store, env: Bindings): Promise<boolean> {
  const pending = store.outbox();
  if (pending.length === 0) return true;
  if (!env.DATABASE_URL) return false;
  let connection;
  try {
    connection = await connect(env.DATABASE_URL, env.NEON_WS_PROXY);
  } catch {
    store.failedAttempt();
    return false;
  }
  try {
    for (const item of pending) {
      const payload: unknown = JSON.parse(item.payload);
      if (item.kind === "build") {
        const b = BuildRecord.parse(payload);
        await connection.db
          .update(builds)
          .set({ status: b.status, attempt: b.attempt, commitSha: b.commitSha, error: b.error, startedAt: date(b.startedAt), completedAt: date(b.completedAt) })
          .where(sql`${builds.id} = ${b.id}`);
      } else if (item.kind === "job") {
        const j = JobRecord.parse(payload);
        const row = { ...j, startedAt: date(j.startedAt), completedAt: date(j.completedAt), runnerId: j.runnerId };
        await connection.db.insert(jobs).values(row).onConflictDoUpdate({ target: jobs.id, set: row });
      } else if (item.kind === "event") {
        await env.EVENTS.send(SparkiEvent.parse(payload));
      }
      store.sent(item.id);
    }
    return true;
  } catch {
    store.failedAttempt();
    return false;
  } finally {
    await connection.close();
  }
}

/** Backoff before the next try: 1 s doubling to 60 s. */
export function retryDelayMs(attempts: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.min(attempts, 6));
}
