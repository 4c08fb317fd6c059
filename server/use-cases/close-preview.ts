/**
 * Removing a closed pull request's preview (the queue's `preview.closed`, sent by the GitHub
 * delivery of the close and again later): its releases still running are cancelled, its stage's
 * alias is deleted (the site entry dropped, so the host answers 404 at once), and the files of
 * each of its deployments are deleted from R2, so no `d--<deployment>` address serves them either.
 *
 * Every step is idempotent, so a retried or repeated sweep finds less to do. The later sweep
 * catches what was in flight during the first: a deployment that was publishing or verifying when
 * the close came may still write files or switch the alias (a rollback does). Serving never waits
 * for it: a closed pull request's stage is hidden from the sites origin (aliases.ts). A pull
 * request reopened in between is left alone.
 */
import { and, eq, isNotNull } from "drizzle-orm";
import { DEPLOYMENT_FINISHED, type DeploymentStatus } from "../../core/deploy/machine.ts";
import { previewStage } from "../../core/deploy/preview.ts";
import type { Cache } from "../cache/cache.js";
import type { Bindings } from "../config.js";
import type { Db } from "../db/client.js";
import { siteKey } from "../deploy/aliases.js";
import { deployments, pullRequestPreviews, releases, siteAliases } from "../db/schema.js";
import { deploymentOrchestrator } from "../objects/clients.js";
import { projectPrefix } from "../r2-keys.js";

export interface PreviewRemoval {
  /** The preview's releases (each gets its GitHub deployment marked inactive). */
  releases: string[];
  cancelled: number;
  /** R2 objects deleted. */
  deleted: number;
  /** Objects remain (a sweep deletes a bounded number; the next one goes on). */
  more: boolean;
}

/** Removes the preview of pull request `number` if it is closed; null when it is open (reopened since). */
export async function removePreview(
  deps: { env: Pick<Bindings, "DEPLOYMENT_ORCHESTRATOR">; db: Db; cache: Cache; bucket: R2Bucket },
  projectId: string,
  number: number,
  { maxPages = 10 } = {},
): Promise<PreviewRemoval | null> {
  const { db } = deps;
  const [closed] = await db
    .select({ number: pullRequestPreviews.number })
    .from(pullRequestPreviews)
    .where(and(eq(pullRequestPreviews.projectId, projectId), eq(pullRequestPreviews.number, number), isNotNull(pullRequestPreviews.closedAt)));
  if (!closed) return null;
  const stage = previewStage(number);
  const rows = await db
    .selectDistinct({ id: releases.id, status: releases.status })
    .from(releases)
    .innerJoin(deployments, eq(deployments.releaseId, releases.id))
    .where(and(eq(releases.projectId, projectId), eq(releases.trigger, "preview"), eq(deployments.stage, stage)));

  let cancelled = 0;
  for (const r of rows) {
    if (DEPLOYMENT_FINISHED.has(r.status as DeploymentStatus)) continue;
    // A refusal (already finished, or rolling back) is fine: the later sweep cleans up after it.
    const result = await deploymentOrchestrator(deps.env, r.id).cancel(`the close of pull request #${number}`);
    if (!("refused" in result)) cancelled++;
  }
  await db.delete(siteAliases).where(and(eq(siteAliases.projectId, projectId), eq(siteAliases.stage, stage)));
  await deps.cache.remove(siteKey(projectId));

  let deleted = 0;
  let more = false;
  let pages = maxPages;
  for (const r of rows) {
    // A preview release has one stage, so its published files are its own to delete.
    const prefix = `${projectPrefix(projectId)}deployments/${r.id}/`;
    for (;;) {
      if (pages-- <= 0) {
        more = true;
        break;
      }
      const listed = await deps.bucket.list({ prefix, limit: 1000 });
      if (listed.objects.length === 0) break;
      await deps.bucket.delete(listed.objects.map((o) => o.key));
      deleted += listed.objects.length;
      if (!listed.truncated) break;
    }
    if (more) break;
  }
  return { releases: rows.map((r) => r.id), cancelled, deleted, more };
}

/** Records the pull request as open (opened, reopened, pushed to); a reopen starts a new spell. */
export async function openPreview(db: Pick<Db, "insert">, projectId: string, number: number): Promise<void> {
  await db
    .insert(pullRequestPreviews)
    .values({ projectId, number })
    .onConflictDoUpdate({
      target: [pullRequestPreviews.projectId, pullRequestPreviews.number],
      set: { openedAt: new Date(), closedAt: null, updatedAt: new Date() },
      setWhere: isNotNull(pullRequestPreviews.closedAt),
    });
}

/** Records the pull request as closed; its preview is hidden from then on. */
export async function closePreview(db: Pick<Db, "insert">, projectId: string, number: number): Promise<void> {
  const now = new Date();
  await db
    .insert(pullRequestPreviews)
    .values({ projectId, number, closedAt: now })
    .onConflictDoUpdate({ target: [pullRequestPreviews.projectId, pullRequestPreviews.number], set: { closedAt: now, updatedAt: now } });
}
