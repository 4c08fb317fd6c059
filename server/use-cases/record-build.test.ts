import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { connect, type Db } from "../db/client.js";
import { builds, jobs, projects, workspaces } from "../db/schema.js";
import { recordBuild, recordJob } from "./record-build.js";

async function withDb<T>(run: (db: Db) => Promise<T>): Promise<T> {
  const conn = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY);
  try {
    return await run(conn.db);
  } finally {
    await conn.close();
  }
}

/** A queued build of a fresh project. */
async function queuedBuild(db: Db): Promise<string> {
  const slug = `rec-${crypto.randomUUID().slice(0, 8)}`;
  const [workspace] = await db.insert(workspaces).values({ name: slug, slug }).returning({ id: workspaces.id });
  const [project] = await db
    .insert(projects)
    .values({ workspaceId: workspace?.id ?? "", name: slug, gitUrl: "https://example.com/x.git" })
    .returning({ id: projects.id });
  const [build] = await db
    .insert(builds)
    .values({ projectId: project?.id ?? "", number: 1, branch: "main", status: "queued", trigger: "api" })
    .returning({ id: builds.id });
  return build?.id ?? "";
}

it("records a build's start and end, and a job written twice leaves one row as last reported", async () => {
  await withDb(async (db) => {
    const id = await queuedBuild(db);
    const started = { id, status: "running", attempt: 1, commitSha: null, error: null, startedAt: 1_000, completedAt: null };
    await recordBuild(db, started);
    const end = { ...started, status: "failed", commitSha: "a".repeat(40), error: "Job test ended failed with exit code 1.", completedAt: 5_000 };
    await recordBuild(db, end);
    await recordBuild(db, end); // the outbox re-sends an item whose write may have landed
    const [row] = await db.select().from(builds).where(eq(builds.id, id));
    expect(row).toMatchObject({
      status: "failed",
      attempt: 1,
      commitSha: "a".repeat(40),
      error: end.error,
      startedAt: new Date(1_000),
      completedAt: new Date(5_000),
    });

    const job = {
      id: `${id}.1`,
      buildId: id,
      key: "test",
      name: "test",
      kind: "steps",
      status: "running",
      exitCode: null,
      runnerId: null,
      attempt: 1,
      steps: [],
      startedAt: 2_000,
      completedAt: null,
    };
    await recordJob(db, job);
    await recordJob(db, { ...job, status: "failed", exitCode: 1, steps: [{ name: "npm test" }], completedAt: 4_000 });
    const rows = await db.select().from(jobs).where(eq(jobs.buildId, id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "failed", exitCode: 1, steps: [{ name: "npm test" }], startedAt: new Date(2_000), completedAt: new Date(4_000) });
  });
});

it("refuses a record that is not a build's, and leaves a deleted build alone", async () => {
  await withDb(async (db) => {
    await expect(
      recordBuild(db, { id: "not-a-uuid", status: "failed", attempt: 1, commitSha: null, error: null, startedAt: null, completedAt: null }),
    ).rejects.toThrow();
    const gone = crypto.randomUUID();
    await recordBuild(db, { id: gone, status: "succeeded", attempt: 1, commitSha: null, error: null, startedAt: 1, completedAt: 2 });
    expect(await db.select().from(builds).where(eq(builds.id, gone))).toEqual([]);
  });
});
