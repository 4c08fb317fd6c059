import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { PROTOCOL_HEADER, RUNNER_PROTOCOL_VERSION } from "../../core/contracts/runner.ts";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import { verifyJobToken } from "../auth/job-tokens.js";
import { hashToken, tokenPrefix } from "../auth/tokens.js";
import { keys, ttl } from "../../server/cache/keys.js";
import { runners } from "../../server/db/schema.js";
import type { Context } from "hono";

/** A runner as requests see it: its labels are the ones it registered with. */
export const RunnerIdentity = z.object({ id: z.uuid(), workspaceId: z.uuid().nullable(), name: z.string(), labels: z.array(z.string()) });
export type RunnerIdentity = z.infer<typeof RunnerIdentity>;

function checkVersion(c: Context<AppEnv>): void {
  const version = c.req.header(PROTOCOL_HEADER);
  if (version !== undefined && version !== String(RUNNER_PROTOCOL_VERSION)) {
    throw new SparkiError("validation", {
      detail: `This API speaks runner protocol ${RUNNER_PROTOCOL_VERSION}; upgrade the runner.`,
      errors: [{ pointer: `header.${PROTOCOL_HEADER}`, message: `must be ${RUNNER_PROTOCOL_VERSION}` }],
    });
  }
}

const bearer = (c: Context<AppEnv>) => /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];

/**
 * Requires a runner token (`srn_…`) and a protocol version this API speaks. Only the claim route
 * takes it: every call on a job needs that job's token ({@link authenticateJob}).
 */
export const authenticateRunner = createMiddleware<AppEnv>(async (c, next) => {
  checkVersion(c);
  const token = bearer(c);
  if (!token?.startsWith(tokenPrefix.runner))
    throw new SparkiError("unauthenticated", { detail: "Send 'Authorization: Bearer <runner token>'; register the runner first." });
  const hash = await hashToken(token);
  const runner = await c.var.cache.getOrLoad(keys.runner(hash), ttl.apiToken, RunnerIdentity.nullable(), async () => {
    const db = await c.var.db();
    const [row] = await db.select().from(runners).where(eq(runners.tokenHash, hash));
    return row ? { id: row.id, workspaceId: row.workspaceId, name: row.name, labels: z.array(z.string()).parse(row.labels) } : null;
  });
  if (!runner) throw new SparkiError("invalid_token", { detail: "The runner token is not valid; register the runner again." });
  c.set("runner", runner);
  c.var.log.fields.workspaceId = runner.workspaceId ?? undefined;
  await next();
});

const RunnerHome = z.object({ workspaceId: z.uuid().nullable() });

/** How long a runner's existence is cached for job calls; revocation drops the entry at once. */
const runnerExistsTtl = 60;

/**
 * Requires the job token of the job in the path (`/v1/runner/jobs/:id/...`). Another job's
 * token, a runner token or a user's token is a 401. The runner that holds the job must still be
 * registered: revocation deletes its row and drops this cache entry, so its job tokens stop at
 * once (and the coordinators of the jobs it held revoke their leases besides). Heartbeats and log
 * sockets are frequent, so the lookup is cached rather than a Postgres query per call. The lease
 * itself is checked by the job's coordinator.
 */
export const authenticateJob = createMiddleware<AppEnv>(async (c, next) => {
  checkVersion(c);
  const token = bearer(c);
  if (!token) throw new SparkiError("unauthenticated", { detail: "Send 'Authorization: Bearer <job token>' (the jobToken of the claimed job)." });
  if (token.startsWith(tokenPrefix.runner))
    throw new SparkiError("invalid_token", { detail: "A runner token only claims; calls on a job take that job's token." });
  const holder = await verifyJobToken(token, c.var.config.JWT_SECRET);
  if (holder.jobId !== c.req.param("id")) throw new SparkiError("invalid_token", { detail: "This job token belongs to another job." });
  const runner = await c.var.cache.getOrLoad(keys.runnerById(holder.runnerId), runnerExistsTtl, RunnerHome.nullable(), async () => {
    const db = await c.var.db();
    const [row] = await db.select({ workspaceId: runners.workspaceId }).from(runners).where(eq(runners.id, holder.runnerId));
    return row ?? null;
  });
  if (!runner) throw new SparkiError("invalid_token", { detail: "The runner holding this job was revoked." });
  c.set("job", holder);
  c.set("jobRunnerWorkspaceId", runner.workspaceId);
  c.var.log.fields.workspaceId = runner.workspaceId ?? undefined;
  await next();
});
