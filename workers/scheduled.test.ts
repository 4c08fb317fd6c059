/**
 * The Worker's cron runs the retention sweep through the entry's `scheduled` handler, called as
 * a cron trigger would. The trigger's scheduled time is the sweep's clock, so the test sets it in 2000
 * and dates its data around then: the sweep, which sees every workspace, finds only this test's
 * data old enough (other files' builds are dated by today's clock) and cannot disturb theirs.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { connect, type Db } from "../server/db/client.js";
import { builds, projects, workspaces } from "../server/db/schema.js";
import { artifactKey, buildLogKey } from "../server/r2-keys.js";
import worker from "./index.js";

const cronTime = new Date(Date.UTC(2000, 0, 1));
const daysBefore = (days: number) => new Date(cronTime.getTime() - days * 86_400_000);

let db: Db;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ db, close } = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY));
});
afterAll(async () => {
  await close();
});

async function buildEnded(projectId: string, ended: Date): Promise<string> {
  const [b] = await db
    .insert(builds)
    .values({ projectId, number: Math.floor(Math.random() * 1e9), branch: "main", status: "failed", trigger: "api", completedAt: ended })
    .returning({ id: builds.id });
  const id = b?.id ?? "";
  await env.ARTIFACTS.put(buildLogKey(projectId, id), "log");
  await env.ARTIFACTS.put(artifactKey(projectId, id, "out.txt"), "out");
  return id;
}

it("the cron trigger deletes what is past its age as of its scheduled time, and a rerun nothing more", async () => {
  const slug = `cron-${crypto.randomUUID().slice(0, 8)}`;
  const [w] = await db.insert(workspaces).values({ name: slug, slug }).returning({ id: workspaces.id });
  const [p] = await db
    .insert(projects)
    .values({ workspaceId: w?.id ?? "", name: slug, gitUrl: "https://example.com/x.git" })
    .returning({ id: projects.id });
  const projectId = p?.id ?? "";
  const old = await buildEnded(projectId, daysBefore(100));
  const young = await buildEnded(projectId, daysBefore(20));

  for (let run = 0; run < 2; run++) {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: cronTime, cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await env.ARTIFACTS.head(buildLogKey(projectId, old))).toBeNull();
    expect(await env.ARTIFACTS.head(artifactKey(projectId, old, "out.txt"))).toBeNull();
    expect(await env.ARTIFACTS.head(buildLogKey(projectId, young))).not.toBeNull();
    expect(await env.ARTIFACTS.head(artifactKey(projectId, young, "out.txt"))).not.toBeNull();
  }
  const [row] = await db.select().from(builds).where(eq(builds.id, old));
  expect(row).toMatchObject({ logsExpiredAt: cronTime, artifactsExpiredAt: cronTime });
  const [kept] = await db.select().from(builds).where(eq(builds.id, young));
  expect(kept).toMatchObject({ logsExpiredAt: null, artifactsExpiredAt: null });
});
