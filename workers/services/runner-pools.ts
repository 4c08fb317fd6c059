/**
 * Which runners may take a workspace's jobs. A workspace's own runners take all of them. The
 * instance's shared pool runs other tenants' code too, so a workspace decides what it may take
 * (`workspaces.shared_runners`): `never`, `no-secrets` (the default: only builds of projects that
 * have no secrets) or `always`. The claim route asks at claim time, since secrets can be added
 * after a build was queued: a shared runner never receives a job whose secrets the policy
 * withholds. Script deployments run on the workspace's own runners only.
 *
 * A development stack (`npm run dev`) sets DEV_TRUST_SHARED_RUNNERS so its one local runner,
 * registered in the shared pool, takes every job; production must never set it.
 */
import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../server/db/client.js";
import { builds, projects, secrets, workspaces } from "../../server/db/schema.js";

export const SharedRunnersPolicy = z.enum(["never", "no-secrets", "always"]);
export type SharedRunnersPolicy = z.infer<typeof SharedRunnersPolicy>;

/** Whether the policy keeps a build (of a project with or without secrets) off the shared pool. */
export function withholdsFromShared(policy: SharedRunnersPolicy, hasSecrets: boolean): boolean {
  if (policy === "always") return false;
  if (policy === "never") return true;
  return hasSecrets;
}

/** Reads a stored policy; anything unexpected is treated as the strictest. */
export function policyOf(value: string | null | undefined): SharedRunnersPolicy {
  const parsed = SharedRunnersPolicy.safeParse(value);
  return parsed.success ? parsed.data : "never";
}

/**
 * Whether the shared pool must not take this build, from Postgres: the workspace's policy and
 * whether the project has secrets now. A build that is gone is withheld (nobody should run it).
 */
export async function sharedPoolWithholds(db: Db, buildId: string): Promise<boolean> {
  const [row] = await db
    .select({
      policy: workspaces.sharedRunners,
      hasSecrets: sql<boolean>`exists (select 1 from ${secrets} where ${secrets.projectId} = ${projects.id})`,
    })
    .from(builds)
    .innerJoin(projects, eq(projects.id, builds.projectId))
    .innerJoin(workspaces, eq(workspaces.id, projects.workspaceId))
    .where(eq(builds.id, buildId));
  if (!row) return true;
  return withholdsFromShared(policyOf(row.policy), Boolean(row.hasSecrets));
}

/** The workspace's policy, read together with the moment the claim hands out secrets. */
export async function workspacePolicy(db: Db, workspaceId: string): Promise<SharedRunnersPolicy> {
  const [row] = await db.select({ policy: workspaces.sharedRunners }).from(workspaces).where(eq(workspaces.id, workspaceId));
  return policyOf(row?.policy);
}
