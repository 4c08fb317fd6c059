import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Cache } from "../cache/cache.js";
import { ttl } from "../cache/keys.js";
import type { Db } from "../db/client.js";
import { siteAliases } from "../db/schema.js";

export const aliasKey = (projectId: string, stage: string) => `site:${projectId}:${stage}`;

export const CachedAlias = z.object({
  alias: z
    .object({ deploymentId: z.uuid(), previousDeploymentId: z.uuid().nullable(), canaryDeploymentId: z.uuid().nullable(), canaryPercent: z.number().int().min(0).max(100) })
    .nullable(),
});
export type StoredAlias = NonNullable<z.infer<typeof CachedAlias>["alias"]>;

/** A stage's alias (cached like deployment status, 10 minutes; every switch drops the entry). */
export async function readAlias(db: () => Promise<Db>, cache: Cache, projectId: string, stage: string): Promise<StoredAlias | null> {
  const { alias } = await cache.getOrLoad(aliasKey(projectId, stage), ttl.deploymentStatus, CachedAlias, async () => {
    const [row] = await (await db())
      .select({ deploymentId: siteAliases.deploymentId, previousDeploymentId: siteAliases.previousDeploymentId, canaryDeploymentId: siteAliases.canaryDeploymentId, canaryPercent: siteAliases.canaryPercent })
      .from(siteAliases)
      .where(and(eq(siteAliases.projectId, projectId), eq(siteAliases.stage, stage)));
    return { alias: row ?? null };
  });
  return alias;
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
  await cache.remove(aliasKey(projectId, stage));
}

/** Sends `percent` of new visitors of a stage to `canaryDeploymentId` (0 ends the canary). */
export async function setCanary(db: Db, cache: Cache, projectId: string, stage: string, canaryDeploymentId: string | null, percent: number): Promise<void> {
  await db
    .update(siteAliases)
    .set({ canaryDeploymentId: percent > 0 ? canaryDeploymentId : null, canaryPercent: percent > 0 ? percent : 0, updatedAt: new Date() })
    .where(and(eq(siteAliases.projectId, projectId), eq(siteAliases.stage, stage)));
  await cache.remove(aliasKey(projectId, stage));
}
