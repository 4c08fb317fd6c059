/**
 * What follows a project's deletion once Postgres has committed it: its cache entries go, so its
 * sites stop at once (server/sites/serve.ts reads the `site:{id}` entry on every request), and
 * the removal of its R2 objects is queued (`project.deleted`, workers/queue.ts), now and once more
 * later for what a build still running at the time writes after it.
 */
import type { Context } from "hono";
import type { AppEnv } from "../app-env.js";
import { keys } from "../../server/cache/keys.js";
import { siteKey } from "../../server/deploy/aliases.js";
import { describeError } from "../log.js";

/** Seconds until the second purge sweeps up late writes. */
const stragglerSweepSeconds = 3600;
/** A queue batch holds at most 100 messages. */
const batchSize = 100;

/** The project is already gone from Postgres, so a queue failure is logged, not answered. */
export async function projectsDeleted(c: Context<AppEnv>, projectIds: string[]): Promise<void> {
  if (projectIds.length === 0) return;
  await c.var.cache.remove(...projectIds.flatMap((id) => [keys.project(id), siteKey(id)]));
  const occurredAt = new Date().toISOString();
  const messages = projectIds.flatMap((projectId) => {
    const body = { type: "project.deleted", projectId, correlationId: c.var.requestId, occurredAt } as const;
    return [{ body }, { body, delaySeconds: stragglerSweepSeconds }];
  });
  for (let i = 0; i < messages.length; i += batchSize) {
    try {
      await c.env.EVENTS.sendBatch(messages.slice(i, i + batchSize));
    } catch (err) {
      c.var.log.error(`${projectIds.length} project(s) deleted but their R2 objects were not all queued for removal`, describeError(err));
    }
  }
}
