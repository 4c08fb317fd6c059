/**
 * Cache entries in Postgres: the lookup by key then restore prefixes across a build's scopes,
 * recording a saved archive (replacing the same key in the same scope), and least-recently-used
 * eviction under the project's cap. The archives are R2 objects named by the row's id
 * (server/r2-keys.ts); callers delete the objects of the rows these functions return.
 */
import { and, asc, desc, eq, inArray, like, or, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { builds, cacheEntries, projects } from "../db/schema.js";
import { cacheScopes, type CacheScopes } from "./scopes.js";

export type CacheEntryRow = typeof cacheEntries.$inferSelect;

/** The scopes of the build a job belongs to, or null when the build is not the project's. */
export async function scopesOfBuild(db: Db, projectId: string, buildId: string): Promise<CacheScopes | null> {
  const [row] = await db
    .select({ branch: builds.branch, tag: builds.tag, pullRequest: builds.pullRequest, baseBranch: builds.baseBranch, defaultBranch: projects.defaultBranch })
    .from(builds)
    .innerJoin(projects, eq(projects.id, builds.projectId))
    .where(and(eq(builds.id, buildId), eq(builds.projectId, projectId)));
  return row ? cacheScopes(row) : null;
}

/** LIKE's own characters in a key are matched literally. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

/**
 * The entry a job restores: in each scope in order, the exact key, else the newest entry
 * starting with the first prefix that matches anything, else the next prefix (GitHub Actions'
 * order). Marks the entry used.
 */
export async function findEntry(
  db: Db,
  projectId: string,
  scopes: readonly string[],
  key: string,
  restoreKeys: readonly string[],
): Promise<{ entry: CacheEntryRow; exact: boolean } | null> {
  const rows = await db
    .select()
    .from(cacheEntries)
    .where(
      and(
        eq(cacheEntries.projectId, projectId),
        inArray(cacheEntries.scope, [...scopes]),
        or(eq(cacheEntries.key, key), ...restoreKeys.map((prefix) => like(cacheEntries.key, likePrefix(prefix)))),
      ),
    )
    .orderBy(desc(cacheEntries.createdAt))
    .limit(500);
  for (const scope of scopes) {
    const inScope = rows.filter((r) => r.scope === scope);
    const exact = inScope.find((r) => r.key === key);
    const found = exact ?? restoreKeys.map((prefix) => inScope.find((r) => r.key.startsWith(prefix))).find((r) => r !== undefined);
    if (found) {
      await db.update(cacheEntries).set({ lastUsedAt: new Date() }).where(eq(cacheEntries.id, found.id));
      return { entry: found, exact: found === exact };
    }
  }
  return null;
}

/** One entry of a project, by id, if it is in one of the scopes. */
export async function entryInScopes(db: Db, projectId: string, scopes: readonly string[], id: string): Promise<CacheEntryRow | null> {
  const [row] = await db
    .select()
    .from(cacheEntries)
    .where(and(eq(cacheEntries.id, id), eq(cacheEntries.projectId, projectId), inArray(cacheEntries.scope, [...scopes])));
  return row ?? null;
}

/** Whether any entry has this id (an upload may not be recorded twice, nor under another's id). */
export async function entryExists(db: Db, id: string): Promise<boolean> {
  const [row] = await db.select({ id: cacheEntries.id }).from(cacheEntries).where(eq(cacheEntries.id, id));
  return row !== undefined;
}

/**
 * Records a stored archive. An entry with the same key in the same scope is replaced (a job
 * whose restore was broken saves a good one); returns the rows whose objects must go.
 */
export async function recordEntry(db: Db, entry: Omit<CacheEntryRow, "createdAt" | "lastUsedAt">): Promise<CacheEntryRow[]> {
  const replaced = await db
    .delete(cacheEntries)
    .where(and(eq(cacheEntries.projectId, entry.projectId), eq(cacheEntries.scope, entry.scope), eq(cacheEntries.key, entry.key)))
    .returning();
  // Another save of the same key may land between the two statements: it wins, this one goes.
  const inserted = await db.insert(cacheEntries).values(entry).onConflictDoNothing().returning({ id: cacheEntries.id });
  return inserted.length === 0 ? [...replaced, { ...entry, createdAt: new Date(), lastUsedAt: new Date() }] : replaced;
}

/**
 * Deletes the project's least recently used entries until the rest fit in `maxBytes`; returns
 * the deleted rows (their objects must go). The entry just saved (`keep`) is evicted last.
 */
export async function evict(db: Db, projectId: string, maxBytes: number, keep: string): Promise<CacheEntryRow[]> {
  const [total] = await db
    .select({ bytes: sql<string>`coalesce(sum(${cacheEntries.sizeBytes}), 0)` })
    .from(cacheEntries)
    .where(eq(cacheEntries.projectId, projectId));
  let over = Number(total?.bytes ?? 0) - maxBytes;
  if (over <= 0) return [];
  const candidates = await db
    .select({ id: cacheEntries.id, sizeBytes: cacheEntries.sizeBytes })
    .from(cacheEntries)
    .where(eq(cacheEntries.projectId, projectId))
    .orderBy(sql`${cacheEntries.id} = ${keep}`, asc(cacheEntries.lastUsedAt));
  const doomed: string[] = [];
  for (const c of candidates) {
    if (over <= 0) break;
    doomed.push(c.id);
    over -= c.sizeBytes;
  }
  if (doomed.length === 0) return [];
  return db.delete(cacheEntries).where(inArray(cacheEntries.id, doomed)).returning();
}
