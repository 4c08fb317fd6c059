import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { Artifact, Build, BuildListQuery, BuildStatus, BuildSummary, TriggerBuildBody } from "../../core/contracts/builds.ts";
import { pageOf } from "../../core/contracts/common.js";
import { LogQuery } from "../../core/contracts/logs.ts";
import { SparkiError } from "../../core/errors.js";
import type { BuildView } from "../../server/objects/build-coordinator/protocol.js";
import type { AppEnv } from "../app-env.js";
import { presignGet } from "../artifacts/presign.js";
import { builds, projects } from "../../server/db/schema.js";
import { authenticate } from "../middleware/authenticate.js";
import { audit } from "../services/audit.js";
import { authorize, notFound } from "../services/access.js";
import { cursorTimestampSql, decodeCursor, toPage } from "../services/pagination.js";
import { findProject } from "../services/projects.js";
import { parseRequestPart } from "../middleware/errors.js";
import { authed, authedForProject, json, newRouter, problems } from "./router.js";
import { buildCoordinator } from "../../server/objects/clients.js";
import { artifactKey, artifactPrefix, buildLogKey } from "../../server/r2-keys.js";
import { triggerBuild } from "../../server/use-cases/trigger-build.js";
import { sharedPool } from "../../server/objects/runner-dispatcher/protocol.js";
import { explainWaiting } from "../services/job-waiting.js";
import { workspacePolicy } from "../services/runner-pools.js";

export const buildRoutes = newRouter();
const BuildParams = z.object({ id: z.uuid() });
type BuildRow = typeof builds.$inferSelect;

function summary(row: BuildRow) {
  return {
    id: row.id,
    projectId: row.projectId ?? "",
    number: row.number ?? 0,
    branch: row.branch ?? "",
    tag: row.tag,
    commitSha: row.commitSha,
    status: BuildStatus.parse(row.status),
    pipelineId: row.pipelineId,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    queuedAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    completedAt: row.completedAt?.toISOString() ?? null,
  };
}

/** The Postgres row with the coordinator's live view over it: Postgres may be a moment behind. */
function withLive(row: BuildRow, live: BuildView | null) {
  const base = summary(row);
  if (!live) return { ...base, jobs: [] };
  return {
    ...base,
    status: live.status,
    commitSha: live.commitSha,
    error: live.error,
    startedAt: live.startedAt,
    completedAt: live.completedAt,
    jobs: live.jobs,
  };
}

/** A build and its project's workspace, after checking the caller may do `permission` there. */
async function findBuild(c: Context<AppEnv>, id: string, permission: "project:read" | "build:trigger") {
  const db = await c.var.db();
  const [row] = await db
    .select({ build: builds, workspaceId: projects.workspaceId, projectId: projects.id })
    .from(builds)
    .innerJoin(projects, eq(projects.id, builds.projectId))
    .where(eq(builds.id, id));
  if (!row) throw notFound({ type: "build", id });
  await authorize(c, row.workspaceId, permission, { type: "build", id });
  return row;
}

/** What retention deleted answers 404 saying so, not an empty log or a bare "no such artifact". */
function refuseExpired(expiredAt: Date | null, what: "log" | "artifacts"): void {
  if (!expiredAt) return;
  throw new SparkiError("not_found", {
    detail: `The build's ${what} ${what === "log" ? "was" : "were"} deleted on ${expiredAt.toISOString().slice(0, 10)} under the workspace's retention (GET /v1/workspaces/:id/retention).`,
  });
}

buildRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/projects/{id}/builds",
    tags: ["builds"],
    summary: "Trigger a build of a branch (the project's default branch when none is given)",
    ...authedForProject(),
    request: { params: z.object({ id: z.uuid() }), body: { content: json(TriggerBuildBody), required: false } },
    responses: { 201: { description: "Queued", content: json(BuildSummary) }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    // Without a JSON body the validator hands over {}: every field is optional.
    const body = c.req.valid("json");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "build:trigger", { type: "project", id });
    const branch = body.branch ?? project.defaultBranch;
    const row = await triggerBuild(c.env, await c.var.db(), {
      project,
      branch,
      commitSha: body.commitSha ?? null,
      source: { trigger: "api", createdBy: c.var.auth.user.id, correlationId: c.var.requestId },
      traceparent: c.var.trace.traceparent,
      alongside: (tx, build) =>
        audit(c, tx, {
          eventType: "data",
          action: "build.trigger",
          result: "success",
          workspaceId: project.workspaceId,
          resourceType: "build",
          resourceId: build.id,
          details: { projectId: id, branch, number: build.number },
        }),
    });
    return c.json(summary(row), 201);
  },
);

buildRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/builds/{id}",
    tags: ["builds"],
    summary: "A build with its jobs and steps",
    ...authed,
    request: { params: BuildParams },
    responses: { 200: { description: "The build", content: json(Build) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { build, workspaceId } = await findBuild(c, id, "project:read");
    const live = await buildCoordinator(c.env, id).view();
    const view = withLive(build, live);
    if (!live || !live.jobs.some((j) => j.status === "queued" && j.waiting === null)) return c.json(view, 200);
    // A workspace that never uses the shared pool: its shared runners online change nothing.
    const never =
      live.pools.includes(sharedPool) && !c.var.config.DEV_TRUST_SHARED_RUNNERS && (await workspacePolicy(await c.var.db(), workspaceId)) === "never";
    const pools = live.pools.filter((p) => !(never && p === sharedPool));
    return c.json({ ...view, jobs: await explainWaiting(c.env, view.jobs, pools, c.var.config.RUNNER_LEASE_SECONDS) }, 200);
  },
);

buildRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/builds",
    tags: ["builds"],
    summary: "The project's builds, newest first, filtered by status and branch",
    ...authedForProject(),
    request: { params: z.object({ id: z.uuid() }), query: BuildListQuery },
    responses: { 200: { description: "A page of builds", content: json(pageOf(BuildSummary)) }, ...problems(400, 401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor, status, branch } = c.req.valid("query");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:read", { type: "project", id });
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const db = await c.var.db();
    const rows = await db
      .select({ build: builds, cursorTs: sql<string>`${sql.raw(cursorTimestampSql('"builds"."created_at"'))}`, id: builds.id })
      .from(builds)
      .where(
        and(
          eq(builds.projectId, id),
          status ? eq(builds.status, status) : undefined,
          branch ? eq(builds.branch, branch) : undefined,
          after ? sql`(${builds.createdAt}, ${builds.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)` : undefined,
        ),
      )
      .orderBy(desc(builds.createdAt), desc(builds.id))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (r) => summary(r.build)),
      200,
    );
  },
);

buildRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/builds/{id}/cancel",
    tags: ["builds"],
    summary: "Cancel a build: queued jobs end now, running steps are killed by their runners",
    ...authed,
    request: { params: BuildParams },
    responses: { 200: { description: "The build after the cancel", content: json(Build) }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { build, workspaceId } = await findBuild(c, id, "build:trigger");
    const live = await buildCoordinator(c.env, id).cancel();
    await audit(c, await c.var.db(), { eventType: "data", action: "build.cancel", result: "success", workspaceId, resourceType: "build", resourceId: id });
    return c.json(withLive(build, live), 200);
  },
);

buildRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/builds/{id}/retry",
    tags: ["builds"],
    summary: "Re-run a failed, cancelled or timed-out build's unsuccessful jobs as a new attempt",
    ...authed,
    request: { params: BuildParams },
    responses: { 200: { description: "The build, queued again", content: json(Build) }, ...problems(401, 403, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { build, workspaceId } = await findBuild(c, id, "build:trigger");
    // The jobs a retry keeps would hand on artifacts and a log that are gone.
    if (build.logsExpiredAt || build.artifactsExpiredAt) {
      throw new SparkiError("conflict", {
        detail: "This build's log or artifacts were deleted under the workspace's retention; trigger a new build of its commit instead.",
      });
    }
    const live = await buildCoordinator(c.env, id).retry();
    if (!live) throw new SparkiError("conflict", { detail: "Only a finished build that did not succeed can be retried." });
    await audit(c, await c.var.db(), {
      eventType: "data",
      action: "build.retry",
      result: "success",
      workspaceId,
      resourceType: "build",
      resourceId: id,
      details: { attempt: live.attempt },
    });
    return c.json(withLive(build, live), 200);
  },
);

/** The live log: backlog from `?from=SEQ`, then lines as they arrive (WebSocket). */
buildRoutes.get("/v1/builds/:id/logs", authenticate, async (c) => {
  const id = parseRequestPart(BuildParams.shape.id, c.req.param("id"), "path");
  const { from } = parseRequestPart(LogQuery, c.req.query(), "query");
  const { build } = await findBuild(c, id, "project:read");
  refuseExpired(build.logsExpiredAt, "log");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new SparkiError("validation", { detail: "This route is a WebSocket; for the text, GET /v1/builds/:id/logs.txt." });
  }
  return buildCoordinator(c.env, id).fetch(`https://coordinator/viewer?from=${from}`, { headers: c.req.raw.headers });
});

/** The whole log as text: from R2 once archived, from the coordinator while the build runs. */
buildRoutes.get("/v1/builds/:id/logs.txt", authenticate, async (c) => {
  const id = parseRequestPart(BuildParams.shape.id, c.req.param("id"), "path");
  const { projectId, build } = await findBuild(c, id, "project:read");
  refuseExpired(build.logsExpiredAt, "log");
  const archived = await c.env.ARTIFACTS.get(buildLogKey(projectId, id));
  if (archived) return new Response(archived.body, { headers: { "content-type": "text/plain; charset=utf-8" } });
  return buildCoordinator(c.env, id).fetch("https://coordinator/logs.txt");
});

buildRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/builds/{id}/artifacts",
    tags: ["builds"],
    summary: "The build's artifacts",
    ...authed,
    request: { params: BuildParams },
    responses: { 200: { description: "Artifacts", content: json(z.object({ items: z.array(Artifact) })) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { projectId } = await findBuild(c, id, "project:read");
    const prefix = artifactPrefix(projectId, id);
    const items: z.infer<typeof Artifact>[] = [];
    let cursor: string | undefined;
    do {
      const page = await c.env.ARTIFACTS.list({ prefix, cursor });
      for (const o of page.objects) items.push({ name: o.key.slice(prefix.length), size: o.size, uploadedAt: o.uploaded.toISOString() });
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return c.json({ items }, 200);
  },
);

buildRoutes.get("/v1/builds/:id/artifacts/:name{.+}", authenticate, async (c) => {
  const id = parseRequestPart(BuildParams.shape.id, c.req.param("id"), "path");
  const name = decodeURIComponent(c.req.param("name"));
  if (name.split("/").some((part) => part === ".." || part === "." || part === "") || name.startsWith("/")) {
    throw new SparkiError("validation", {
      detail: "The artifact name is not allowed.",
      errors: [{ pointer: "path.name", message: "must not contain '..', '.' or empty segments" }],
    });
  }
  const { projectId, build } = await findBuild(c, id, "project:read");
  refuseExpired(build.artifactsExpiredAt, "artifacts");
  const key = artifactKey(projectId, id, name);
  const { R2_S3_ENDPOINT: endpoint, R2_ACCESS_KEY_ID: accessKeyId, R2_SECRET_ACCESS_KEY: secretAccessKey, R2_BUCKET_NAME: bucket } = c.var.config;
  if (endpoint && accessKeyId && secretAccessKey) {
    // Production: the bytes go straight from R2 to the client, not through the Worker.
    const head = await c.env.ARTIFACTS.head(key);
    if (!head) throw new SparkiError("not_found", { detail: `The build has no artifact ${name}.` });
    const filename = `${name.split("/").pop() ?? "artifact"}${head.customMetadata?.kind === "directory" ? ".tar.gz" : ""}`;
    return c.redirect(await presignGet({ endpoint, bucket, accessKeyId, secretAccessKey }, key, 300, filename), 302);
  }
  const object = await c.env.ARTIFACTS.get(key);
  if (!object) throw new SparkiError("not_found", { detail: `The build has no artifact ${name}.` });
  const kind = object.customMetadata?.kind;
  return new Response(object.body, {
    headers: {
      "content-type": kind === "directory" ? "application/gzip" : "application/octet-stream",
      "content-length": String(object.size),
      "content-disposition": `attachment; filename="${name.split("/").pop()?.replace(/"/g, "") ?? "artifact"}${kind === "directory" ? ".tar.gz" : ""}"`,
    },
  });
});
