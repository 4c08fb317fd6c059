import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import { SparkiError } from "../../core/errors.js";
import { hashToken, newToken } from "../auth/tokens.js";
import { keys } from "../../server/cache/keys.js";
import { jobs, runnerRegistrationTokens, runners } from "../../server/db/schema.js";
import { audit } from "../services/audit.js";
import { authorize } from "../services/access.js";
import { authed, json, jsonBody, newRouter, problems } from "./router.js";
import { buildCoordinator } from "../../server/objects/clients.js";

export const runnerTokenRoutes = newRouter();
const WorkspaceParams = z.object({ id: z.uuid() });

const RegistrationToken = z.object({ id: z.uuid(), name: z.string(), prefix: z.string(), createdAt: z.string() }).meta({ id: "RunnerRegistrationToken" });
const Runner = z
  .object({ id: z.uuid(), name: z.string(), labels: z.array(z.string()), version: z.string(), lastSeenAt: z.string().nullable(), createdAt: z.string() })
  .meta({ id: "Runner" });

runnerTokenRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/workspaces/{id}/runner-tokens",
    tags: ["runners"],
    summary: "Create a token that registers runners into this workspace's pool (shown once)",
    ...authed,
    request: { params: WorkspaceParams, body: jsonBody(z.strictObject({ name: z.string().trim().min(1).max(100) })) },
    responses: { 201: { description: "Created", content: json(RegistrationToken.extend({ token: z.string() })) }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { name } = c.req.valid("json");
    await authorize(c, id, "runners:manage", { type: "workspace", id });
    const token = newToken("runnerRegistration");
    const db = await c.var.db();
    const row = await db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(runnerRegistrationTokens)
        .values({ workspaceId: id, name, prefix: token.slice(0, 12), tokenHash: await hashToken(token), createdBy: c.var.auth.user.id })
        .returning();
      if (!inserted) throw new Error("insert returned no row");
      await audit(c, tx, {
        eventType: "data",
        action: "runner_token.create",
        result: "success",
        workspaceId: id,
        resourceType: "runner_token",
        resourceId: inserted.id,
        details: { name },
      });
      return inserted;
    });
    return c.json({ id: row.id, name: row.name, prefix: row.prefix, createdAt: row.createdAt.toISOString(), token }, 201);
  },
);

runnerTokenRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/workspaces/{id}/runner-tokens",
    tags: ["runners"],
    summary: "The workspace's runner registration tokens (never their values)",
    ...authed,
    request: { params: WorkspaceParams },
    responses: { 200: { description: "Tokens", content: json(z.object({ items: z.array(RegistrationToken) })) }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await authorize(c, id, "runners:manage", { type: "workspace", id });
    const db = await c.var.db();
    const rows = await db
      .select()
      .from(runnerRegistrationTokens)
      .where(eq(runnerRegistrationTokens.workspaceId, id))
      .orderBy(desc(runnerRegistrationTokens.createdAt));
    return c.json({ items: rows.map((r) => ({ id: r.id, name: r.name, prefix: r.prefix, createdAt: r.createdAt.toISOString() })) }, 200);
  },
);

runnerTokenRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/workspaces/{id}/runner-tokens/{tokenId}",
    tags: ["runners"],
    summary: "Delete a registration token (runners it registered keep working)",
    ...authed,
    request: { params: WorkspaceParams.extend({ tokenId: z.uuid() }) },
    responses: { 204: { description: "Deleted" }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id, tokenId } = c.req.valid("param");
    await authorize(c, id, "runners:manage", { type: "workspace", id });
    const db = await c.var.db();
    await db.transaction(async (tx) => {
      const [row] = await tx
        .delete(runnerRegistrationTokens)
        .where(and(eq(runnerRegistrationTokens.id, tokenId), eq(runnerRegistrationTokens.workspaceId, id)))
        .returning({ id: runnerRegistrationTokens.id });
      if (!row) throw new SparkiError("not_found", { detail: `No runner token ${tokenId} in this workspace.` });
      await audit(c, tx, {
        eventType: "data",
        action: "runner_token.delete",
        result: "success",
        workspaceId: id,
        resourceType: "runner_token",
        resourceId: tokenId,
      });
    });
    return c.body(null, 204);
  },
);

runnerTokenRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/workspaces/{id}/runners",
    tags: ["runners"],
    summary: "The runners registered in this workspace's pool",
    ...authed,
    request: { params: WorkspaceParams },
    responses: { 200: { description: "Runners", content: json(z.object({ items: z.array(Runner) })) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await authorize(c, id, "workspace:read", { type: "workspace", id });
    const db = await c.var.db();
    const rows = await db.select().from(runners).where(eq(runners.workspaceId, id)).orderBy(desc(runners.createdAt));
    return c.json(
      {
        items: rows.map((r) => ({
          id: r.id,
          name: r.name,
          labels: z.array(z.string()).parse(r.labels),
          version: r.version,
          lastSeenAt: r.lastSeenAt?.toISOString() ?? null,
          createdAt: r.createdAt.toISOString(),
        })),
      },
      200,
    );
  },
);

runnerTokenRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/workspaces/{id}/runners/{runnerId}",
    tags: ["runners"],
    summary: "Revoke a runner at once: its token stops, and the jobs it holds lose their leases and are requeued",
    ...authed,
    request: { params: WorkspaceParams.extend({ runnerId: z.uuid() }) },
    responses: { 204: { description: "Revoked" }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id, runnerId } = c.req.valid("param");
    await authorize(c, id, "runners:manage", { type: "workspace", id });
    const db = await c.var.db();
    const revoked = await db.transaction(async (tx) => {
      const [row] = await tx
        .delete(runners)
        .where(and(eq(runners.id, runnerId), eq(runners.workspaceId, id)))
        .returning({ name: runners.name, tokenHash: runners.tokenHash });
      if (!row) throw new SparkiError("not_found", { detail: `No runner ${runnerId} in this workspace.` });
      await audit(c, tx, {
        eventType: "data",
        action: "runner.revoke",
        result: "success",
        workspaceId: id,
        resourceType: "runner",
        resourceId: runnerId,
        details: { name: row.name },
      });
      return row;
    });
    // The row is gone, so its token and job tokens are refused from here on; the cached lookups
    // of both go too, so nothing answers from them.
    await c.var.cache.remove(keys.runner(revoked.tokenHash), keys.runnerById(runnerId));
    // The jobs Postgres knows it holds lose their leases now. One claimed in the same instant and
    // not yet recorded is refused all the same: every job call checks the runner still exists.
    const held = await db
      .selectDistinct({ buildId: jobs.buildId })
      .from(jobs)
      .where(and(eq(jobs.runnerId, runnerId), inArray(jobs.status, ["claimed", "running"])));
    await Promise.all(held.map((j) => buildCoordinator(c.env, j.buildId).revokeRunner(runnerId)));
    return c.body(null, 204);
  },
);
