/**
 * Recording a build in Postgres: its row (status, attempt, commit, error, start and end) and its
 * jobs' rows, as the BuildCoordinator reports them through its outbox. A build's end is its last
 * record, with `completedAt` set; the coordinator sends `build.completed` only after that record
 * is written, so the queue consumer reads the final status from Postgres.
 *
 * Both writes are idempotent: the outbox re-sends an item whose write may have landed before a
 * failure, and the second write leaves the same row.
 */
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client.js";
import { builds, jobs } from "../db/schema.js";

/** A build's state as the coordinator reports it (times in epoch milliseconds). */
export const BuildRecord = z.object({
  id: z.uuid(),
  status: z.string(),
  attempt: z.number().int(),
  commitSha: z.string().nullable(),
  error: z.string().nullable(),
  startedAt: z.number().nullable(),
  completedAt: z.number().nullable(),
});
export type BuildRecord = z.infer<typeof BuildRecord>;

/** A job's state as the coordinator reports it (times in epoch milliseconds). */
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
export type JobRecord = z.infer<typeof JobRecord>;

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

/** Writes the build's row; a build deleted since is left alone. */
export async function recordBuild(db: Db, record: BuildRecord): Promise<void> {
  const b = BuildRecord.parse(record);
  await db
    .update(builds)
    .set({ status: b.status, attempt: b.attempt, commitSha: b.commitSha, error: b.error, startedAt: date(b.startedAt), completedAt: date(b.completedAt) })
    .where(eq(builds.id, b.id));
}

/** Writes (or rewrites) one job's row. */
export async function recordJob(db: Db, record: JobRecord): Promise<void> {
  const j = JobRecord.parse(record);
  const row = { ...j, startedAt: date(j.startedAt), completedAt: date(j.completedAt) };
  await db.insert(jobs).values(row).onConflictDoUpdate({ target: jobs.id, set: row });
}
