import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { PROTOCOL_HEADER, RUNNER_PROTOCOL_VERSION } from "../../core/contracts/runner.ts";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import { hashToken, tokenPrefix } from "../auth/tokens.js";
import { keys, ttl } from "../cache/keys.js";
import { runners } from "../db/schema.js";

/** A runner as requests see it. */
export const RunnerIdentity = z.object({ id: z.uuid(), workspaceId: z.uuid().nullable(), name: z.string(), labels: z.array(z.string()) });
export type RunnerIdentity = z.infer<typeof RunnerIdentity>;

/** Requires a runner token (`srn_…`) and a protocol version this API speaks. */
export const authenticateRunner = createMiddleware<AppEnv>(async (c, next) => {
  const version = c.req.header(PROTOCOL_HEADER);
  if (version !== undefined && version !== String(RUNNER_PROTOCOL_VERSION)) {
    throw new SparkiError("validation", { detail: `This API speaks runner protocol ${RUNNER_PROTOCOL_VERSION}; upgrade the runner.`, errors: [{ pointer: `header.${PROTOCOL_HEADER}`, message: `must be ${RUNNER_PROTOCOL_VERSION}` }] });
  }
  const token = /^Bearer\s+(srn_\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  if (!token?.startsWith(tokenPrefix.runner)) throw new SparkiError("unauthenticated", { detail: "Send 'Authorization: Bearer <runner token>'; register the runner first." });
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
