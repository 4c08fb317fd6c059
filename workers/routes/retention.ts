/**
 * A workspace's retention (README "Retention"): how many days its logs, artifacts, caches and
 * superseded sites are kept before the scheduled sweep deletes them. Members read it; owners and
 * admins change it, audited.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { RetentionSettings, UpdateRetentionBody } from "../../core/contracts/retention.js";
import { readRetention, writeRetention } from "../../server/retention/settings.js";
import { audit } from "../services/audit.js";
import { authorize } from "../services/access.js";
import { authed, json, jsonBody, newRouter, problems } from "./router.js";

export const retentionRoutes = newRouter();
const Params = z.object({ id: z.uuid() });

retentionRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/workspaces/{id}/retention",
    tags: ["workspaces"],
    summary: "How long the workspace keeps logs, artifacts, caches and superseded sites",
    ...authed,
    request: { params: Params },
    responses: { 200: { description: "Days per kind of data", content: json(RetentionSettings) }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await authorize(c, id, "workspace:read", { type: "workspace", id });
    const db = await c.var.db();
    return c.json({ items: await readRetention(db, id) }, 200);
  },
);

retentionRoutes.openapi(
  createRoute({
    method: "put",
    path: "/v1/workspaces/{id}/retention",
    tags: ["workspaces"],
    summary: "Change how long the workspace keeps each kind of data (owners and admins); null returns a kind to its default",
    ...authed,
    request: { params: Params, body: jsonBody(UpdateRetentionBody) },
    responses: { 200: { description: "The settings now", content: json(RetentionSettings) }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const change = c.req.valid("json");
    await authorize(c, id, "workspace:update", { type: "workspace", id });
    const db = await c.var.db();
    const items = await db.transaction(async (tx) => {
      const applied = await writeRetention(tx, id, change, c.var.auth.user.id);
      await audit(c, tx, {
        eventType: "data",
        action: "workspace.retention",
        result: "success",
        workspaceId: id,
        resourceType: "workspace",
        resourceId: id,
        details: applied,
      });
      return readRetention(tx, id);
    });
    return c.json({ items }, 200);
  },
);
