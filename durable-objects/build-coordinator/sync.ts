/**
 * Writes what Postgres must learn (build status and timings, job rows) from the coordinator's
 * outbox, and the queue events that must follow those writes (`build.completed`). A failed write stays in the outbox and is retried by the alarm with backoff, so a
 * Postgres outage delays the record but never loses it.
 */
import { SparkiEvent } from "../../core/contracts/events.js";
import { connect, type Connection } from "../../server/db/client.js";
import { BuildRecord, JobRecord, recordBuild, recordJob } from "../../server/use-cases/record-build.js";
import type { Bindings } from "../../server/config.js";
import type { Store } from "./store.js";

/** Sends every queued write; returns false when Postgres refused or could not be reached. */
export async function flushOutbox(store: Store, env: Bindings): Promise<boolean> {
  const pending = store.outbox();
  if (pending.length === 0) return true;
  if (!env.DATABASE_URL) return false;
  let connection: Connection;
  try {
    connection = await connect(env.DATABASE_URL, env.NEON_WS_PROXY);
  } catch {
    store.failedAttempt();
    return false;
  }
  try {
    for (const item of pending) {
      const payload: unknown = JSON.parse(item.payload);
      if (item.kind === "build") await recordBuild(connection.db, BuildRecord.parse(payload));
      else if (item.kind === "job") await recordJob(connection.db, JobRecord.parse(payload));
      else if (item.kind === "event") await env.EVENTS.send(SparkiEvent.parse(payload));
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
