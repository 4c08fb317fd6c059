/**
 * The retention sweep: deletes what each workspace keeps no longer, from R2 and the build
 * coordinators, and records it in Postgres (`builds.logs_expired_at`, `artifacts_expired_at`,
 * `releases.site_expired_at`; an unused dependency cache entry's row is deleted).
 *
 * Safe to rerun and to stop anywhere: an item is marked only after all of its data is gone, so a
 * run cut short (an operation budget spent, an error, a Worker stopped) leaves it unmarked and
 * the next run deletes it again, which finds less or nothing. A marked item is never looked at
 * again. Age counts from the build's or release's end, against the workspace's days at the time
 * of the sweep; nothing younger is touched. A site that a stage serves, or keeps as its previous
 * deployment (instant rollback) or canary, is never deleted, nor the artifacts of its build.
 */
import { and, asc, eq, inArray, isNotNull, isNull, sql, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import { defaultRetentionDays, type RetentionKind } from "../../core/contracts/retention.js";
import type { Bindings } from "../config.js";
import type { Db } from "../db/client.js";
import { builds, cacheEntries, projects, releases, siteAliases, workspaceRetention } from "../db/schema.js";
import { buildCoordinator } from "../objects/clients.js";
import { artifactPrefix, buildLogKey, cacheEntryKey, deploymentFilesPrefix, sitePublishedMarker } from "../r2-keys.js";
import { deleteUnder, type Budget } from "./r2.js";

export interface SweepDeps {
  db: Db;
  bucket: R2Bucket;
  env: Pick<Bindings, "BUILD_COORDINATOR">;
}

export interface SweepOptions {
  /** The sweep's clock: ages are measured back from here. */
  now: Date;
  /**
   * R2 and object calls one run may make for each kind, so one kind's backlog never starves the
   * others; four kinds stay under a Worker invocation's 1,000 subrequests.
   */
  operations?: number;
  /** Items read from Postgres at a time. */
  batchSize?: number;
  /** Only these workspaces (tests; an operator's targeted run). Every workspace when absent. */
  workspaceIds?: string[];
}

export interface KindReport {
  /** Items (builds, releases, cache entries) whose data this run deleted and marked. */
  expired: number;
  /** R2 objects deleted (a build's log counts once, whether or not it was archived). */
  objects: number;
}

export interface SweepReport {
  kinds: Partial<Record<RetentionKind, KindReport>>;
  /** A kind's budget ran out before it was done: the next run goes on. */
  more: boolean;
}

interface Candidate {
  id: string;
  projectId: string;
}

/** Deletes one item's data; false when the budget ran out first (the item stays unmarked). */
type Expire = (deps: SweepDeps, item: Candidate, budget: Budget, report: KindReport) => Promise<boolean>;

interface Sweeper {
  /** Finished items of this kind past their workspace's age, not yet expired, oldest first. */
  candidates: (deps: SweepDeps, options: Required<Omit<SweepOptions, "workspaceIds">> & Pick<SweepOptions, "workspaceIds">) => Promise<Candidate[]>;
  expire: Expire;
  /** Records the items as expired at `now`. */
  mark: (db: Db, ids: string[], now: Date) => Promise<void>;
}

/** The workspace's days for `kind`, its default where it has no row of its own. */
const daysFor = (kind: RetentionKind) => sql`coalesce(${workspaceRetention.days}, ${defaultRetentionDays[kind]}::int)`;

/** `endedAt` is older than the workspace's days for `kind`, measured back from `now`. */
const pastAge = (kind: RetentionKind, endedAt: PgColumn, now: Date): SQL =>
  sql`${endedAt} < ${now.toISOString()}::timestamptz - make_interval(days => ${daysFor(kind)})`;

/** Release ids in a stage's alias: served now, kept for an instant rollback, or taking canary traffic. */
const aliasHolds = (releaseId: SQL | PgColumn) => sql`${releaseId} in (a.deployment_id, a.previous_deployment_id, a.canary_deployment_id)`;
const servedRelease = sql`exists (select 1 from ${siteAliases} a where ${aliasHolds(releases.id)})`;
/** A build one of whose releases a stage's alias holds: a rollback or redeploy may need its artifacts. */
const servedBuild = sql`exists (select 1 from ${releases} r join ${siteAliases} a on ${aliasHolds(sql`r.id`)} where r.build_id = ${builds.id})`;

function buildCandidates(kind: "logs" | "artifacts", expiredAt: PgColumn, keepServed: boolean): Sweeper["candidates"] {
  return async ({ db }, { now, batchSize, workspaceIds }) => {
    const rows = await db
      .select({ id: builds.id, projectId: projects.id })
      .from(builds)
      .innerJoin(projects, eq(projects.id, builds.projectId))
      .leftJoin(workspaceRetention, and(eq(workspaceRetention.workspaceId, projects.workspaceId), eq(workspaceRetention.kind, kind)))
      .where(
        and(
          isNull(expiredAt),
          isNotNull(builds.completedAt),
          pastAge(kind, builds.completedAt, now),
          keepServed ? sql`not ${servedBuild}` : undefined,
          workspaceIds ? inArray(projects.workspaceId, workspaceIds) : undefined,
        ),
      )
      .orderBy(asc(builds.completedAt))
      .limit(batchSize);
    return rows;
  };
}

const logs: Sweeper = {
  candidates: buildCandidates("logs", builds.logsExpiredAt, false),
  async expire({ bucket, env }, build, budget, report) {
    if (!budget.take(2)) return false;
    await bucket.delete(buildLogKey(build.projectId, build.id));
    report.objects += 1;
    // The coordinator's own copy of the lines serves the log before it is archived; a finished
    // build's goes too, or the log would still be readable through it.
    return (await buildCoordinator(env, build.id).forgetLog()) >= 0;
  },
  mark: async (db, ids, now) => {
    await db
      .update(builds)
      .set({ logsExpiredAt: now })
      .where(and(inArray(builds.id, ids), isNull(builds.logsExpiredAt)));
  },
};

const artifacts: Sweeper = {
  candidates: buildCandidates("artifacts", builds.artifactsExpiredAt, true),
  expire: ({ bucket }, build, budget, report) => deleteUnder(bucket, artifactPrefix(build.projectId, build.id), budget, report),
  mark: async (db, ids, now) => {
    await db
      .update(builds)
      .set({ artifactsExpiredAt: now })
      .where(and(inArray(builds.id, ids), isNull(builds.artifactsExpiredAt)));
  },
};

const sites: Sweeper = {
  async candidates({ db }, { now, batchSize, workspaceIds }) {
    return db
      .select({ id: releases.id, projectId: releases.projectId })
      .from(releases)
      .innerJoin(projects, eq(projects.id, releases.projectId))
      .leftJoin(workspaceRetention, and(eq(workspaceRetention.workspaceId, projects.workspaceId), eq(workspaceRetention.kind, "sites")))
      .where(
        and(
          isNull(releases.siteExpiredAt),
          isNotNull(releases.completedAt),
          pastAge("sites", releases.completedAt, now),
          sql`not ${servedRelease}`,
          workspaceIds ? inArray(projects.workspaceId, workspaceIds) : undefined,
        ),
      )
      .orderBy(asc(releases.completedAt))
      .limit(batchSize);
  },
  async expire({ bucket }, release, budget, report) {
    // The marker first: a half-deleted site must not look published to a later rollback to it.
    if (!budget.take(1)) return false;
    await bucket.delete(sitePublishedMarker(release.projectId, release.id));
    report.objects += 1;
    return deleteUnder(bucket, deploymentFilesPrefix(release.projectId, release.id), budget, report);
  },
  mark: async (db, ids, now) => {
    await db
      .update(releases)
      .set({ siteExpiredAt: now })
      .where(and(inArray(releases.id, ids), isNull(releases.siteExpiredAt)));
  },
};

/**
 * Dependency cache entries unused for longer than the workspace's days. The row is the entry, so
 * "marking" deletes it, after its archive: a run cut short leaves the row for the next one, never
 * an archive without a row. An entry restored while it goes is a cache miss, which jobs survive.
 */
const caches: Sweeper = {
  async candidates({ db }, { now, batchSize, workspaceIds }) {
    return db
      .select({ id: cacheEntries.id, projectId: cacheEntries.projectId })
      .from(cacheEntries)
      .innerJoin(projects, eq(projects.id, cacheEntries.projectId))
      .leftJoin(workspaceRetention, and(eq(workspaceRetention.workspaceId, projects.workspaceId), eq(workspaceRetention.kind, "caches")))
      .where(and(pastAge("caches", cacheEntries.lastUsedAt, now), workspaceIds ? inArray(projects.workspaceId, workspaceIds) : undefined))
      .orderBy(asc(cacheEntries.lastUsedAt))
      .limit(batchSize);
  },
  async expire({ bucket }, entry, budget, report) {
    if (!budget.take(1)) return false;
    await bucket.delete(cacheEntryKey(entry.projectId, entry.id));
    report.objects += 1;
    return true;
  },
  mark: async (db, ids) => {
    await db.delete(cacheEntries).where(inArray(cacheEntries.id, ids));
  },
};

/** One sweeper per kind of data a workspace keeps for a time. */
export const sweepers: Record<RetentionKind, Sweeper> = { logs, artifacts, caches, sites };

/** Runs every kind's sweep until each has nothing left past its age or its budget is spent. */
export async function sweepRetention(deps: SweepDeps, options: SweepOptions): Promise<SweepReport> {
  const opts = { operations: 200, batchSize: 50, ...options };
  const report: SweepReport = { kinds: {}, more: false };
  for (const [kind, sweeper] of Object.entries(sweepers) as [RetentionKind, Sweeper][]) {
    const kindReport: KindReport = { expired: 0, objects: 0 };
    report.kinds[kind] = kindReport;
    const budget = budgetOf(opts.operations);
    for (;;) {
      const items = await sweeper.candidates(deps, opts);
      const done: string[] = [];
      let spent = false;
      for (const item of items) {
        if (await sweeper.expire(deps, item, budget, kindReport)) done.push(item.id);
        else if (budget.spent()) {
          spent = true;
          break;
        }
      }
      if (done.length > 0) await sweeper.mark(deps.db, done, opts.now);
      kindReport.expired += done.length;
      if (spent) {
        report.more = true;
        break;
      }
      // A short page was the last; a page with nothing done (each refused) would come back the same.
      if (items.length < opts.batchSize || done.length === 0) break;
    }
  }
  return report;
}

function budgetOf(operations: number): Budget {
  let left = operations;
  return {
    take(n: number) {
      if (left < n) {
        left = 0;
        return false;
      }
      left -= n;
      return true;
    },
    spent: () => left <= 0,
  };
}
