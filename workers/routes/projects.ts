import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { PageQuery, pageOf } from "../../core/contracts/common.js";
import { CreateProjectBody, Project, UpdateProjectBody } from "../../core/contracts/projects.js";
import { checkGitUrl } from "../../core/git-url.js";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import type { Context } from "hono";
import { keys } from "../../server/cache/keys.js";
import { sqlState } from "../../server/db/client.js";
import { projects } from "../../server/db/schema.js";
import { audit } from "../services/audit.js";
import { authorize } from "../services/access.js";
import { cursorTimestampSql, decodeCursor, toPage } from "../services/pagination.js";
import { projectsDeleted } from "../services/project-removal.js";
import { findProject, projectView } from "../services/projects.js";
import { authed, authedForProject, json, jsonBody, newRouter, problems } from "./router.js";

export const projectRoutes = newRouter();
const WorkspaceParams = z.object({ id: z.uuid() });
const ProjectParams = z.object({ id: z.uuid() });
const withProject = authedForProject();

/** Local repositories only make sense where the runner shares the API's disk: development. */
function assertGitUrlAllowed(c: Context<AppEnv>, gitUrl: string | undefined): void {
  if (gitUrl === undefined || c.var.config.ALLOW_LOCAL_GIT_URLS) return;
  const check = checkGitUrl(gitUrl);
  if (check.ok && check.kind === "local") {
    throw new SparkiError("validation", {
      detail: "Local repository paths are only accepted in development.",
      errors: [{ pointer: "body.gitUrl", message: "must be an https or ssh URL on this instance" }],
    });
  }
}

function duplicateName(name: string): SparkiError {
  return new SparkiError("conflict", { detail: `A project named '${name}' already exists in this workspace.` });
}

projectRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/workspaces/{id}/projects",
    tags: ["projects"],
    summary: "Create a project from a git repository",
    ...authed,
    request: { params: WorkspaceParams, body: jsonBody(CreateProjectBody) },
    responses: { 201: { description: "Created", content: json(Project) }, ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const { id: workspaceId } = c.req.valid("param");
    const body = c.req.valid("json");
    await authorize(c, workspaceId, "project:create", { type: "workspace", id: workspaceId });
    assertGitUrlAllowed(c, body.gitUrl);
    const db = await c.var.db();
    const row = await db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(projects)
        .values({ workspaceId, ...body })
        .onConflictDoNothing()
        .returning();
      if (!inserted) throw duplicateName(body.name);
      await audit(c, tx, {
        eventType: "data",
        action: "project.create",
        result: "success",
        workspaceId,
        resourceType: "project",
        resourceId: inserted.id,
        details: body,
      });
      return inserted;
    });
    return c.json(projectView(row), 201);
  },
);

projectRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/workspaces/{id}/projects",
    tags: ["projects"],
    summary: "The workspace's projects, newest first",
    ...authed,
    request: { params: WorkspaceParams, query: PageQuery },
    responses: { 200: { description: "A page of projects", content: json(pageOf(Project)) }, ...problems(400, 401, 404) },
  }),
  async (c) => {
    const { id: workspaceId } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    await authorize(c, workspaceId, "project:read", { type: "workspace", id: workspaceId });
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const db = await c.var.db();
    const rows = await db
      .select({ project: projects, cursorTs: sql<string>`${sql.raw(cursorTimestampSql('"projects"."created_at"'))}`, id: projects.id })
      .from(projects)
      .where(
        and(
          eq(projects.workspaceId, workspaceId),
          after ? sql`(${projects.createdAt}, ${projects.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)` : undefined,
        ),
      )
      .orderBy(desc(projects.createdAt), desc(projects.id))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (r) => projectView(r.project)),
      200,
    );
  },
);

projectRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}",
    tags: ["projects"],
    summary: "One project",
    ...withProject,
    request: { params: ProjectParams },
    responses: { 200: { description: "The project", content: json(Project) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:read", { type: "project", id });
    return c.json(project, 200);
  },
);

projectRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/v1/projects/{id}",
    tags: ["projects"],
    summary: "Change a project's name, git URL or default branch",
    ...withProject,
    request: { params: ProjectParams, body: jsonBody(UpdateProjectBody) },
    responses: { 200: { description: "Updated", content: json(Project) }, ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const changes = c.req.valid("json");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:update", { type: "project", id });
    assertGitUrlAllowed(c, changes.gitUrl);
    const db = await c.var.db();
    const row = await db.transaction(async (tx) => {
      const [updated] = await tx
        .update(projects)
        .set({ ...changes, updatedAt: new Date() })
        .where(eq(projects.id, id))
        .returning()
        .catch((err: unknown) => {
          if (changes.name && sqlState(err) === "23505") throw duplicateName(changes.name);
          throw err;
        });
      if (!updated) throw new SparkiError("not_found", { detail: `No project with id ${id}.` });
      await audit(c, tx, {
        eventType: "data",
        action: "project.update",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
        details: changes,
      });
      return updated;
    });
    await c.var.cache.remove(keys.project(id));
    return c.json(projectView(row), 200);
  },
);

projectRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/projects/{id}",
    tags: ["projects"],
    summary: "Delete a project with its pipelines, builds and deployments",
    ...withProject,
    request: { params: ProjectParams },
    responses: { 204: { description: "Deleted" }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:delete", { type: "project", id });
    const db = await c.var.db();
    await db.transaction(async (tx) => {
      await tx.delete(projects).where(eq(projects.id, id));
      await audit(c, tx, {
        eventType: "data",
        action: "project.delete",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
        details: { name: project.name },
      });
    });
    // Its sites stop at once and its R2 objects are queued for removal.
    await projectsDeleted(c, [id]);
    return c.body(null, 204);
  },
);
