import { and, eq, isNotNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { Cache } from "../cache/cache.js";
import { ttl } from "../cache/keys.js";
import type { Db } from "../db/client.js";
import { projects, pullRequestPreviews, siteAliases } from "../db/schema.js";

/**
 * One cache entry per project holds every stage's alias, or null once the project is gone: site
 * requests read it even for a deployment's own address, so deleting the project (which drops the
 * entry) stops all of its sites at once.
 */
export const siteKey = (projectId: string) => `site:${projectId}`;

const Alias = z.object({
  deploymentId: z.uuid(),
  previousDeploymentId: z.uuid().nullable(),
  canaryDeploymentId: z.uuid().nullable(),
  canaryPercent: z.number().int().min(0).max(100),
});
export const CachedSite = z.object({ site: z.object({ aliases: z.record(z.string(), Alias) }).nullable() });
export type StoredAlias = z.infer<typeof Alias>;
export type StoredSite = NonNullable<z.infer<typeof CachedSite>["site"]>;

/** A project's aliases, or null when there is no such project (cached like deployment status, 10 minutes). */
export async function readSite(db: () => Promise<Db>, cache: Cache, projectId: string): Promise<StoredSite | null> {
  const { site } = await cache.getOrLoad(siteKey(projectId), ttl.deploymentStatus, CachedSite, async () => {
    const rows = await (await db())
      .select({
        stage: siteAliases.stage,
        deploymentId: siteAliases.deploymentId,
        previousDeploymentId: siteAliases.previousDeploymentId,
        canaryDeploymentId: siteAliases.canaryDeploymentId,
        canaryPercent: siteAliases.canaryPercent,
        closedPreview: pullRequestPreviews.number,
      })
      .from(projects)
      .leftJoin(siteAliases, eq(siteAliases.projectId, projects.id))
      // A closed pull request's preview stage is never served, whatever deployment of it finished late.
      .leftJoin(
        pullRequestPreviews,
        and(
          eq(pullRequestPreviews.projectId, projects.id),
          sql`${siteAliases.stage} = 'pr-' || ${pullRequestPreviews.number}`,
          isNotNull(pullRequestPreviews.closedAt),
        ),
      )
      .where(eq(projects.id, projectId));
    if (rows.length === 0) return { site: null };
    const aliases: Record<string, StoredAlias> = {};
    for (const { stage, deploymentId, previousDeploymentId, canaryDeploymentId, canaryPercent, closedPreview } of rows) {
      if (stage !== null && deploymentId !== null && closedPreview === null)
        aliases[stage] = { deploymentId, previousDeploymentId, canaryDeploymentId, canaryPercent: canaryPercent ?? 0 };
    }
    return { site: { aliases } };
  });
  return site;
}

/** A stage's alias, or null when the stage (or the project) has none. */
export async function readAlias(db: () => Promise<Db>, cache: Cache, projectId: string, stage: string): Promise<StoredAlias | null> {
  return (await readSite(db, cache, projectId))?.aliases[stage] ?? null;
}

/**
 * Points a stage at `deploymentId` (deploy, blue-green switch, rollback) in one statement, ending
 * any canary; the deployment it replaces is kept as `previous` for page loads in flight.
 */
export async function switchAlias(db: Db, cache: Cache, projectId: string, stage: string, deploymentId: string): Promise<void> {
  await db
    .insert(siteAliases)
    .values({ projectId, stage, deploymentId })
    .onConflictDoUpdate({
      target: [siteAliases.projectId, siteAliases.stage],
      set: {
        previousDeploymentId: sql`case when ${siteAliases.deploymentId} = ${deploymentId}::uuid then ${siteAliases.previousDeploymentId} else ${siteAliases.deploymentId} end`,
        deploymentId,
        canaryDeploymentId: null,
        canaryPercent: 0,
        updatedAt: new Date(),
      },
    });
  await cache.remove(siteKey(projectId));
}

/** Sends `percent` of new visitors of a stage to `canaryDeploymentId` (0 ends the canary). */
export async function setCanary(db: Db, cache: Cache, projectId: string, stage: string, canaryDeploymentId: string | null, percent: number): Promise<void> {
  await db
    .update(siteAliases)
    .set({ canaryDeploymentId: percent > 0 ? canaryDeploymentId : null, canaryPercent: Math.max(percent, 0), updatedAt: new Date() })
    .where(and(eq(siteAliases.projectId, projectId), eq(siteAliases.stage, stage)));
  await cache.remove(siteKey(projectId));
}
