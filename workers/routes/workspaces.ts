import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { CreateWorkspaceBody, SharedRunners, UpdateWorkspaceBody, Workspace } from "../../core/contracts/workspaces.js";
import { SparkiError } from "../../core/errors.js";
import { slugify } from "../../core/slug.js";
import { sqlState } from "../../server/db/client.js";
import { memberships, projects, workspaces } from "../../server/db/schema.js";
import { audit } from "../services/audit.js";
import { authorize, forgetRoles } from "../services/access.js";
import { projectsDeleted } from "../services/project-removal.js";
import { authed, json, jsonBody, newRouter, problems } from "./router.js";

export const workspaceRoutes = newRouter();
const WorkspaceParams = z.object({ id: z.uuid() });

type WorkspaceRow = typeof workspaces.$inferSelect;
const view = (w: WorkspaceRow, role: z.infer<typeof Workspace>["role"]) => ({
  id: w.id,
  name: w.name,
  slug: w.slug,
  role,
  // A value the schema's check would refuse cannot be stored; read anything else as the strictest.
  sharedRunners: SharedRunners.catch("never").parse(w.sharedRunners),
  createdAt: w.createdAt.toISOString(),
});

workspaceRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/workspaces",
    tags: ["workspaces"],
    summary: "Create a workspace; the caller becomes its owner",
    ...authed,
    request: { body: jsonBody(CreateWorkspaceBody) },
    responses: { 201: { description: "Created", content: json(Workspace) }, ...problems(400, 401) },
  }),
  async (c) => {
    const { name } = c.req.valid("json");
    const me = c.var.auth.user.id;
    const db = await c.var.db();
    const base = slugify(name);
    // The first try takes the plain slug; a taken slug gets a short random suffix.
    for (let attempt = 0; attempt < 5; attempt++) {
      const slug = attempt === 0 ? base : `${base}-${crypto.randomUUID().slice(0, 6)}`;
      try {
        const created = await db.transaction(async (tx) => {
          const [row] = await tx.insert(workspaces).values({ name, slug, ownerId: me }).returning();
          if (!row) throw new Error("insert returned no row");
          await tx.insert(memberships).values({ workspaceId: row.id, userId: me, role: "owner" });
          await audit(c, tx, {
            eventType: "data",
            action: "workspace.create",
            result: "success",
            workspaceId: row.id,
            resourceType: "workspace",
            resourceId: row.id,
            details: { name, slug },
          });
          return row;
        });
        await forgetRoles(c, me);
        return c.json(view(created, "owner"), 201);
      } catch (err) {
        if (sqlState(err) !== "23505") throw err;
      }
    }
    throw new SparkiError("conflict", { detail: "Could not find a free slug for this name; choose another name." });
  },
);

workspaceRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/workspaces/{id}",
    tags: ["workspaces"],
    summary: "One workspace",
    ...authed,
    request: { params: WorkspaceParams },
    responses: { 200: { description: "The workspace", content: json(Workspace) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const role = await authorize(c, id, "workspace:read", { type: "workspace", id });
    const db = await c.var.db();
    const [row] = await db.select().from(workspaces).where(eq(workspaces.id, id));
    if (!row) throw new SparkiError("not_found", { detail: `No workspace with id ${id}.` });
    return c.json(view(row, role), 200);
  },
);

workspaceRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/v1/workspaces/{id}",
    tags: ["workspaces"],
    summary: "Rename a workspace (its slug stays, so links keep working) or set which jobs shared runners may take",
    ...authed,
    request: { params: WorkspaceParams, body: jsonBody(UpdateWorkspaceBody) },
    responses: { 200: { description: "Updated", content: json(Workspace) }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { name, sharedRunners } = c.req.valid("json");
    const role = await authorize(c, id, "workspace:update", { type: "workspace", id });
    const db = await c.var.db();
    const row = await db.transaction(async (tx) => {
      const change = { ...(name !== undefined ? { name } : {}), ...(sharedRunners !== undefined ? { sharedRunners } : {}) };
      const [updated] = await tx
        .update(workspaces)
        .set({ ...change, updatedAt: new Date() })
        .where(eq(workspaces.id, id))
        .returning();
      if (!updated) throw new SparkiError("not_found", { detail: `No workspace with id ${id}.` });
      // Who widened (or narrowed) what the shared pool may take is a trust decision: audited apart.
      const action = sharedRunners !== undefined ? "workspace.shared_runners" : "workspace.update";
      await audit(c, tx, { eventType: "data", action, result: "success", workspaceId: id, resourceType: "workspace", resourceId: id, details: change });
      return updated;
    });
    return c.json(view(row, role), 200);
  },
);

workspaceRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/workspaces/{id}",
    tags: ["workspaces"],
    summary: "Delete a workspace and everything in it (owners only)",
    ...authed,
    request: { params: WorkspaceParams },
    responses: { 204: { description: "Deleted" }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await authorize(c, id, "workspace:delete", { type: "workspace", id });
    const db = await c.var.db();
    const members = await db.select({ userId: memberships.userId }).from(memberships).where(eq(memberships.workspaceId, id));
    const removed = await db.transaction(async (tx) => {
      const gone = await tx.select({ id: projects.id }).from(projects).where(eq(projects.workspaceId, id));
      await tx.delete(workspaces).where(eq(workspaces.id, id));
      // The row outlives the workspace (workspace_id becomes null), so the id goes in details.
      await audit(c, tx, {
        eventType: "data",
        action: "workspace.delete",
        result: "success",
        resourceType: "workspace",
        resourceId: id,
        details: { workspaceId: id },
      });
      return gone.map((p) => p.id);
    });
    await Promise.all(members.map((m) => forgetRoles(c, m.userId)));
    // The projects went with it (cascade): their sites stop and their R2 objects are purged.
    await projectsDeleted(c, removed);
    return c.body(null, 204);
  },
);
