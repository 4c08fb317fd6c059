/**
 * The retention sweep against the real database, R2 and build coordinators (workerd): it deletes
 * exactly what is past each workspace's age, never a site a stage holds nor the artifacts of its
 * build, and a second run deletes nothing more. A run cut short by its budget resumes.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Db } from "../db/client.js";
import { builds, cacheEntries, projects, releases, siteAliases, workspaces } from "../db/schema.js";
import { buildCoordinator } from "../objects/clients.js";
import { artifactKey, buildLogKey, cacheEntryKey, sitePrefix, sitePublishedMarker } from "../r2-keys.js";
import { sweepRetention, type SweepReport } from "./sweep.js";
import { writeRetention } from "./settings.js";

const DAY = 86_400_000;
const now = new Date();
const ago = (days: number) => new Date(now.getTime() - days * DAY);

let db: Db;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, close } = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY));
});
afterAll(async () => {
  await close();
});

async function workspaceWithProject(): Promise<{ workspaceId: string; projectId: string }> {
  const slug = `ret-${crypto.randomUUID().slice(0, 8)}`;
  const [w] = await db.insert(workspaces).values({ name: slug, slug }).returning({ id: workspaces.id });
  const workspaceId = w?.id ?? "";
  const [p] = await db.insert(projects).values({ workspaceId, name: slug, gitUrl: "https://example.com/x.git" }).returning({ id: projects.id });
  return { workspaceId, projectId: p?.id ?? "" };
}

/** A build that ended `days` ago (null: still running), with its log and two artifacts in R2. */
async function build(projectId: string, days: number | null): Promise<string> {
  const [b] = await db
    .insert(builds)
    .values({
      projectId,
      number: Math.floor(Math.random() * 1e9),
      branch: "main",
      status: days === null ? "running" : "succeeded",
      trigger: "api",
      startedAt: ago(days ?? 200),
      completedAt: days === null ? null : ago(days),
    })
    .returning({ id: builds.id });
  const id = b?.id ?? "";
  await env.ARTIFACTS.put(buildLogKey(projectId, id), "line\n");
  await env.ARTIFACTS.put(artifactKey(projectId, id, "dist"), "tar", { customMetadata: { kind: "directory" } });
  await env.ARTIFACTS.put(artifactKey(projectId, id, "reports/junit.xml"), "<xml/>");
  return id;
}

/** A release of `buildId` that ended `days` ago (null: still deploying), with its published site in R2. */
async function release(projectId: string, buildId: string, days: number | null): Promise<string> {
  const [r] = await db
    .insert(releases)
    .values({ projectId, buildId, status: days === null ? "deploying" : "succeeded", trigger: "manual", completedAt: days === null ? null : ago(days) })
    .returning({ id: releases.id });
  const id = r?.id ?? "";
  await env.ARTIFACTS.put(`${sitePrefix(projectId, id)}index.html`, "<h1>hi</h1>");
  await env.ARTIFACTS.put(`${sitePrefix(projectId, id)}assets/app.js`, "1");
  await env.ARTIFACTS.put(sitePublishedMarker(projectId, id), "{}");
  return id;
}

/** A dependency cache entry last used `days` ago, with its archive in R2. */
async function cacheEntry(projectId: string, days: number): Promise<string> {
  const [row] = await db
    .insert(cacheEntries)
    .values({ projectId, scope: "branch:main", key: `deps-${crypto.randomUUID()}`, sizeBytes: 3, sha256: "0".repeat(64), lastUsedAt: ago(days) })
    .returning({ id: cacheEntries.id });
  const id = row?.id ?? "";
  await env.ARTIFACTS.put(cacheEntryKey(projectId, id), "tgz");
  return id;
}
const cacheKept = async (projectId: string, id: string) =>
  (await present(cacheEntryKey(projectId, id))) && (await db.select().from(cacheEntries).where(eq(cacheEntries.id, id))).length === 1;
const cacheGone = async (projectId: string, id: string) =>
  !(await present(cacheEntryKey(projectId, id))) && (await db.select().from(cacheEntries).where(eq(cacheEntries.id, id))).length === 0;

const present = async (key: string) => (await env.ARTIFACTS.head(key)) !== null;
const logKept = (projectId: string, id: string) => present(buildLogKey(projectId, id));
const artifactsKept = async (projectId: string, id: string) =>
  (await present(artifactKey(projectId, id, "dist"))) && (await present(artifactKey(projectId, id, "reports/junit.xml")));
const artifactsGone = async (projectId: string, id: string) =>
  !(await present(artifactKey(projectId, id, "dist"))) && !(await present(artifactKey(projectId, id, "reports/junit.xml")));
const siteKept = async (projectId: string, id: string) =>
  (await present(`${sitePrefix(projectId, id)}index.html`)) && (await present(sitePublishedMarker(projectId, id)));
const siteGone = async (projectId: string, id: string) =>
  (await env.ARTIFACTS.list({ prefix: `projects/${projectId}/deployments/${id}/` })).objects.length === 0;

/** The coordinator's stored lines of a build, written as a runner's frames would leave them. */
async function coordinatorLines(buildId: string, add = 0): Promise<number> {
  return runInDurableObject(buildCoordinator(env, buildId), async (_instance, state) => {
    for (let i = 1; i <= add; i++) {
      state.storage.sql.exec("insert into log_lines (job_id, fencing, job_seq, step, ts, text, partial) values (?, 1, ?, 's', 0, 'x', 0)", `${buildId}.1`, i);
    }
    const [row] = state.storage.sql.exec<{ n: number }>("select count(*) as n from log_lines").toArray();
    return row?.n ?? 0;
  });
}

const sweep = (workspaceIds: string[], more: { operations?: number; batchSize?: number } = {}): Promise<SweepReport> =>
  sweepRetention({ db, bucket: env.ARTIFACTS, env }, { now, workspaceIds, ...more });

describe("retention sweep", () => {
  it("deletes exactly what is past each workspace's age, and nothing more on a second run", async () => {
    // A keeps the defaults (logs 90 days, artifacts 30, caches 7, sites 30); B keeps logs 7, artifacts 2, caches 1, sites 1.
    const a = await workspaceWithProject();
    const b = await workspaceWithProject();
    await writeRetention(db, b.workspaceId, { logs: 7, artifacts: 2, caches: 1, sites: 1 }, null);

    const old = await build(a.projectId, 100); // logs and artifacts go
    const middle = await build(a.projectId, 40); // artifacts go, log stays
    const young = await build(a.projectId, 10); // everything stays
    const running = await build(a.projectId, null); // never touched
    const served = await build(a.projectId, 100); // log goes; artifacts stay: its release is live
    const bOld = await build(b.projectId, 10); // past B's 7 and 2 days
    const bYoung = await build(b.projectId, 1); // within B's ages
    await coordinatorLines(old, 3);
    await coordinatorLines(young, 2);

    const gone = await release(a.projectId, old, 60); // superseded 60 days ago: deleted
    const live = await release(a.projectId, served, 60); // the stage's deployment: kept however old
    const previous = await release(a.projectId, young, 60); // kept for an instant rollback
    const recent = await release(a.projectId, young, 5); // within 30 days
    const deploying = await release(a.projectId, young, null); // unfinished
    const bGone = await release(b.projectId, bOld, 2); // past B's one day
    await db.insert(siteAliases).values({ projectId: a.projectId, stage: "production", deploymentId: live, previousDeploymentId: previous });
    const unused = await cacheEntry(a.projectId, 10); // past 7 days unused
    const used = await cacheEntry(a.projectId, 3); // used within 7 days
    const bUnused = await cacheEntry(b.projectId, 3); // past B's one day

    const first = await sweep([a.workspaceId, b.workspaceId]);
    expect(first.more).toBe(false);
    expect(first.kinds).toMatchObject({
      logs: { expired: 3, objects: 3 },
      artifacts: { expired: 3, objects: 6 },
      sites: { expired: 2, objects: 6 },
      caches: { expired: 2, objects: 2 },
    });
    expect(await cacheGone(a.projectId, unused)).toBe(true);
    expect(await cacheGone(b.projectId, bUnused)).toBe(true);
    expect(await cacheKept(a.projectId, used)).toBe(true);

    // Logs: past 90 days in A, 7 in B.
    for (const id of [old, served]) expect(await logKept(a.projectId, id), id).toBe(false);
    for (const id of [middle, young, running]) expect(await logKept(a.projectId, id), id).toBe(true);
    expect(await logKept(b.projectId, bOld)).toBe(false);
    expect(await logKept(b.projectId, bYoung)).toBe(true);
    expect(await coordinatorLines(old)).toBe(0);
    expect(await coordinatorLines(young)).toBe(2);

    // Artifacts: past 30 days in A unless a stage serves the build's release, past 2 in B.
    for (const id of [old, middle]) expect(await artifactsGone(a.projectId, id), id).toBe(true);
    for (const id of [young, running, served]) expect(await artifactsKept(a.projectId, id), id).toBe(true);
    expect(await artifactsGone(b.projectId, bOld)).toBe(true);
    expect(await artifactsKept(b.projectId, bYoung)).toBe(true);

    // Sites: past their age and held by no alias.
    expect(await siteGone(a.projectId, gone)).toBe(true);
    expect(await siteGone(b.projectId, bGone)).toBe(true);
    for (const id of [live, previous, recent, deploying]) expect(await siteKept(a.projectId, id), id).toBe(true);

    const marked = await db
      .select({ id: builds.id, logs: builds.logsExpiredAt, artifacts: builds.artifactsExpiredAt })
      .from(builds)
      .where(inArray(builds.id, [old, middle, young, running, served, bOld, bYoung]));
    const mark = (id: string) => marked.find((r) => r.id === id);
    expect(mark(old)).toMatchObject({ logs: now, artifacts: now });
    expect(mark(middle)).toMatchObject({ logs: null, artifacts: now });
    expect(mark(served)).toMatchObject({ logs: now, artifacts: null });
    for (const id of [young, running, bYoung]) expect(mark(id)).toMatchObject({ logs: null, artifacts: null });

    const second = await sweep([a.workspaceId, b.workspaceId]);
    expect(second).toEqual({
      kinds: { logs: { expired: 0, objects: 0 }, artifacts: { expired: 0, objects: 0 }, caches: { expired: 0, objects: 0 }, sites: { expired: 0, objects: 0 } },
      more: false,
    });
    for (const id of [middle, young, running]) expect(await logKept(a.projectId, id), id).toBe(true);
    for (const id of [live, previous, recent, deploying]) expect(await siteKept(a.projectId, id), id).toBe(true);
    expect(await cacheKept(a.projectId, used)).toBe(true);

    // The live site's turn comes once the stage moves on and the release is no longer held.
    await db.delete(siteAliases).where(eq(siteAliases.projectId, a.projectId));
    const third = await sweep([a.workspaceId]);
    expect(third.kinds.sites).toEqual({ expired: 2, objects: 6 });
    expect(third.kinds.artifacts).toEqual({ expired: 1, objects: 2 });
    expect(await siteKept(a.projectId, recent)).toBe(true);
  });

  it("a run cut short by its budget leaves the rest marked as kept, and the next run finishes it", async () => {
    const c = await workspaceWithProject();
    const ancient = await build(c.projectId, 100);
    const ids = [ancient, await build(c.projectId, 50), await build(c.projectId, 45), await build(c.projectId, 35)];
    const young = await build(c.projectId, 20);

    const cut = await sweep([c.workspaceId], { operations: 3, batchSize: 2 });
    expect(cut.more).toBe(true);
    // Each kind has its own budget: the ancient build's log goes (two calls), and artifacts still
    // get three calls: one build's list and delete and the next one's list, so one build done.
    expect(cut.kinds.logs).toEqual({ expired: 1, objects: 1 });
    expect(await logKept(c.projectId, ancient)).toBe(false);
    const afterCut = await db.select({ id: builds.id, at: builds.artifactsExpiredAt }).from(builds).where(inArray(builds.id, ids));
    expect(afterCut.filter((r) => r.at !== null).map((r) => r.id)).toEqual([ancient]);
    // Marked only once deleted.
    for (const row of afterCut) if (row.at !== null) expect(await artifactsGone(c.projectId, row.id)).toBe(true);

    let report = cut;
    for (let run = 0; run < 10 && report.more; run++) report = await sweep([c.workspaceId], { operations: 3, batchSize: 2 });
    expect(report.more).toBe(false);
    for (const id of ids) expect(await artifactsGone(c.projectId, id), id).toBe(true);
    expect(await artifactsKept(c.projectId, young)).toBe(true);
    const rows = await db
      .select({ id: builds.id, at: builds.artifactsExpiredAt })
      .from(builds)
      .where(inArray(builds.id, [...ids, young]));
    for (const row of rows) expect(row.at === null, row.id).toBe(row.id === young);
  });
});
