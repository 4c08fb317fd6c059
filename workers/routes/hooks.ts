/**
 * A project's push hook, managed by its workspace's owners and admins: create or rotate the key
 * (shown once), see whether one exists and what its last deliveries did, remove it. The calls a
 * git server makes with the key are in push-hook.ts.
 */
import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { PushHookCreated, PushHookInfo } from "../../core/contracts/hooks.ts";
import { SparkiError } from "../../core/errors.js";
import { pushHooks } from "../../server/db/schema.js";
import { recentDeliveries } from "../../server/webhooks/deliveries.js";
import { newPushHookKey, sealPushHookKey } from "../../server/webhooks/push-hook-key.js";
import type { AppEnv } from "../app-env.js";
import { audit } from "../services/audit.js";
import { authorize } from "../services/access.js";
import { findProject } from "../services/projects.js";
import { authedForProject, json, newRouter, problems } from "./router.js";

export const hookRoutes = newRouter();
const Params = z.object({ id: z.uuid() });

/** The URL a git server calls: on the instance's public URL when one is set, else where this request came. */
export function pushHookUrl(c: Context<AppEnv>, projectId: string): string {
  const base = c.var.config.PUBLIC_URL ?? new URL(c.req.url).origin;
  return new URL(`/v1/projects/${projectId}/hooks/push`, base).toString();
}

hookRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/projects/{id}/hooks",
    tags: ["hooks"],
    summary: "Create or rotate the project's push hook key; it is shown only in this answer",
    description:
      "A git server signs each call to the push hook URL with this key (`X-Sparki-Signature-256: sha256=<hex HMAC-SHA256 of the body>`). Rotating replaces the key at once: calls signed with the old one are refused.",
    ...authedForProject(),
    request: { params: Params },
    responses: { 201: { description: "The new key and the URL to call", content: json(PushHookCreated) }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "hooks:manage", { type: "project", id });
    const key = newPushHookKey();
    const ciphertext = await sealPushHookKey(c.var.config, id, key);
    const db = await c.var.db();
    const row = await db.transaction(async (tx) => {
      const [existing] = await tx.select({ projectId: pushHooks.projectId }).from(pushHooks).where(eq(pushHooks.projectId, id));
      const now = new Date();
      const [saved] = await tx
        .insert(pushHooks)
        .values({ projectId: id, ciphertext, createdBy: c.var.auth.user.id })
        .onConflictDoUpdate({ target: pushHooks.projectId, set: { ciphertext, createdBy: c.var.auth.user.id, updatedAt: now } })
        .returning();
      if (!saved) throw new Error("upsert returned no row");
      await audit(c, tx, {
        eventType: "data",
        action: existing ? "push_hook.rotate" : "push_hook.create",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
      });
      return saved;
    });
    return c.json({ url: pushHookUrl(c, id), secret: key, createdAt: row.updatedAt.toISOString() }, 201);
  },
);

hookRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/hooks",
    tags: ["hooks"],
    summary: "Whether the project has a push hook, and its last deliveries (never the key)",
    ...authedForProject(),
    request: { params: Params },
    responses: { 200: { description: "The push hook", content: json(PushHookInfo) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:read", { type: "project", id });
    const db = await c.var.db();
    const [[hook], deliveries] = await Promise.all([
      db.select({ createdAt: pushHooks.createdAt, updatedAt: pushHooks.updatedAt }).from(pushHooks).where(eq(pushHooks.projectId, id)),
      recentDeliveries(db, id, "push-hook"),
    ]);
    return c.json(
      {
        url: pushHookUrl(c, id),
        exists: hook !== undefined,
        createdAt: hook?.createdAt.toISOString() ?? null,
        updatedAt: hook?.updatedAt.toISOString() ?? null,
        deliveries: deliveries.map((d) => ({
          delivery: d.deliveryId,
          event: d.event,
          outcome: z.enum(["started", "ignored", "failed"]).parse(d.outcome),
          detail: d.detail,
          buildId: d.buildId,
          receivedAt: d.receivedAt.toISOString(),
        })),
      },
      200,
    );
  },
);

hookRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/projects/{id}/hooks",
    tags: ["hooks"],
    summary: "Remove the project's push hook; calls signed with its key are refused from now on",
    ...authedForProject(),
    request: { params: Params },
    responses: { 204: { description: "Removed" }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "hooks:manage", { type: "project", id });
    const db = await c.var.db();
    await db.transaction(async (tx) => {
      const [row] = await tx.delete(pushHooks).where(eq(pushHooks.projectId, id)).returning({ projectId: pushHooks.projectId });
      if (!row) throw new SparkiError("not_found", { detail: "The project has no push hook." });
      await audit(c, tx, {
        eventType: "data",
        action: "push_hook.delete",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
      });
    });
    return c.body(null, 204);
  },
);
