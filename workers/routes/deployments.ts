import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { pageOf } from "../../core/contracts/common.js";
import { DeployBuildBody, Deployment, DeploymentListQuery, DeploymentStatus, DeploymentSummary, RollbackBody } from "../../core/contracts/deployments.ts";
import { APPROVER_ROLES, mayApprove } from "../../core/deploy/stage-rules.ts";
import { SparkiError } from "../../core/errors.js";
import type { Permission } from "../../core/rbac.js";
import type { OrchestratorView, Refusal } from "../../server/objects/deployment-orchestrator/protocol.js";
import { shownDeployment } from "../../server/objects/deployment-orchestrator/people.js";
import type { AppEnv } from "../app-env.js";
import { builds, deployments, projects, releases } from "../../server/db/schema.js";
import { authenticate } from "../middleware/authenticate.js";
import { audit, auditOutcome } from "../services/audit.js";
import { authorize, notFound } from "../services/access.js";
import { buildWithProject, startDeployment } from "../../server/use-cases/start-deployment.js";
import { cursorTimestampSql, decodeCursor, toPage } from "../services/pagination.js";
import { findProject } from "../services/projects.js";
import { stageRuleOf } from "../../server/deploy/stage-rules.js";
import { parseRequestPart } from "../middleware/errors.js";
import { authed, authedForProject, json, newRouter, problems } from "./router.js";
import { deploymentOrchestrator } from "../../server/objects/clients.js";

export const deploymentRoutes = newRouter();
const Params = z.object({ id: z.uuid() });
type ReleaseRow = typeof releases.$inferSelect;

function summary(row: ReleaseRow & { commitSha: string | null; branch: string | null; pullRequest: number | null }): DeploymentSummary {
  return {
    id: row.id,
    projectId: row.projectId,
    buildId: row.buildId,
    commitSha: row.commitSha,
    branch: row.branch ?? "",
    status: DeploymentStatus.parse(row.status),
    reason: row.reason,
    trigger: row.trigger === "push" || row.trigger === "preview" ? row.trigger : "manual",
    pullRequest: row.trigger === "preview" ? row.pullRequest : null,
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
  };
}

/** A release and its project's workspace, after checking the caller may do `permission` there. */
async function findRelease(c: Context<AppEnv>, id: string, permission: Permission) {
  const db = await c.var.db();
  const [row] = await db
    .select({ release: releases, workspaceId: projects.workspaceId })
    .from(releases)
    .innerJoin(projects, eq(projects.id, releases.projectId))
    .where(eq(releases.id, id));
  if (!row) throw notFound({ type: "deployment", id });
  const role = await authorize(c, row.workspaceId, permission, { type: "deployment", id });
  return { ...row, role };
}

/** The orchestrator's view as the API shows it: each person it names by their email, while their account exists. */
const shown = (c: Context<AppEnv>, view: OrchestratorView): Promise<Deployment> => shownDeployment(c.var.db, view);

function answered(result: OrchestratorView | Refusal): OrchestratorView {
  if ("refused" in result) throw new SparkiError("conflict", { detail: result.refused });
  return result;
}

deploymentRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/builds/{id}/deploy",
    tags: ["deployments"],
    summary: "Deploy a succeeded build to its stages (or to one stage); each stage's rule must accept the build's branch",
    ...authed,
    request: { params: Params, body: { content: json(DeployBuildBody), required: false } },
    responses: { 201: { description: "The deployment, started", content: json(Deployment) }, ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    // 403 stage_rule when a stage's rule (or sparki.yml) does not accept the build's branch.
    const db = await c.var.db();
    const row = await buildWithProject(db, id);
    if (!row) throw notFound({ type: "build", id });
    await authorize(c, row.project.workspaceId, "deploy:trigger", { type: "build", id });
    const started = await startDeployment(
      c.env,
      db,
      { build: row.build, project: row.project, trigger: "manual", actorId: c.var.auth.user.id, ...(body.stage ? { stage: body.stage } : {}) },
      (init) =>
        audit(c, db, {
          eventType: "data",
          action: "deployment.create",
          result: "success",
          workspaceId: row.project.workspaceId,
          resourceType: "deployment",
          resourceId: init.releaseId,
          details: { projectId: row.project.id, buildId: id, stages: init.stages.map((s) => s.name) },
        }),
      c.var.trace.traceparent,
    );
    if (!started) throw new Error("a manual release was not created");
    return c.json(await shown(c, started.deployment), 201);
  },
);

deploymentRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/deployments/{id}",
    tags: ["deployments"],
    summary: "A deployment with its stages and event history",
    ...authed,
    request: { params: Params },
    responses: { 200: { description: "The deployment", content: json(Deployment) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await findRelease(c, id, "project:read");
    const view = await deploymentOrchestrator(c.env, id).view();
    if (!view) throw notFound({ type: "deployment", id });
    return c.json(await shown(c, view), 200);
  },
);

deploymentRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/deployments",
    tags: ["deployments"],
    summary: "The project's deployments, newest first",
    ...authedForProject(),
    request: { params: Params, query: DeploymentListQuery },
    responses: { 200: { description: "A page of deployments", content: json(pageOf(DeploymentSummary)) }, ...problems(400, 401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor, status } = c.req.valid("query");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:read", { type: "project", id });
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const rows = await (await c.var.db())
      .select({
        release: releases,
        commitSha: builds.commitSha,
        branch: builds.branch,
        pullRequest: builds.pullRequest,
        cursorTs: sql<string>`${sql.raw(cursorTimestampSql('"releases"."created_at"'))}`,
        id: releases.id,
      })
      .from(releases)
      .innerJoin(builds, eq(builds.id, releases.buildId))
      .where(
        and(
          eq(releases.projectId, id),
          status ? eq(releases.status, status) : undefined,
          after ? sql`(${releases.createdAt}, ${releases.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)` : undefined,
        ),
      )
      .orderBy(desc(releases.createdAt), desc(releases.id))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (r) => summary({ ...r.release, commitSha: r.commitSha, branch: r.branch, pullRequest: r.pullRequest })),
      200,
    );
  },
);

deploymentRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/deployments/{id}/approve",
    tags: ["deployments"],
    summary: "Approve the stage waiting for approval (the caller's role must be one of the stage's approver roles)",
    ...authed,
    request: { params: Params },
    responses: { 200: { description: "The deployment after the request", content: json(Deployment) }, ...problems(401, 403, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { release, workspaceId, role } = await findRelease(c, id, "deploy:approve");
    const stub = deploymentOrchestrator(c.env, id);
    const before = await stub.view();
    const waiting = before?.status === "awaiting_approval" ? before.stages.find((s) => s.status === "waiting") : undefined;
    if (!waiting) throw new SparkiError("conflict", { detail: `Deployment ${id} is ${before?.status ?? "not started"}; no stage waits for approval.` });
    // The approvers the deployment was made with, and the rule as it is now: the stricter wins,
    // so narrowing a stage's approvers also holds for deployments already waiting.
    const rule = await stageRuleOf(await c.var.db(), release.projectId, waiting.name);
    const current = rule?.approverRoles ?? APPROVER_ROLES;
    if (!mayApprove(role, waiting.approverRoles) || !mayApprove(role, current)) {
      const allowed = waiting.approverRoles.filter((r) => current.includes(r));
      await auditOutcome(c, {
        eventType: "permission",
        action: "deploy:approve",
        result: "denied",
        workspaceId,
        details: { reason: "not_an_approver", role, stage: waiting.name, approverRoles: allowed, resourceType: "deployment", resourceId: id },
      });
      throw new SparkiError("forbidden", {
        detail: `Stage ${waiting.name} may be approved by ${allowed.join(" or ") || "nobody"} (the project's stage rule); your role is ${role}.`,
      });
    }
    const view = answered(await stub.approve({ id: c.var.auth.user.id }, waiting.name));
    await audit(c, await c.var.db(), {
      eventType: "data",
      action: "deployment.approve",
      result: "success",
      workspaceId,
      resourceType: "deployment",
      resourceId: id,
      details: { status: view.status, stage: waiting.name, role },
    });
    return c.json(await shown(c, view), 200);
  },
);

deploymentRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/deployments/{id}/cancel",
    tags: ["deployments"],
    summary: "Cancel the deployment (a stage being verified is put back)",
    ...authed,
    request: { params: Params },
    responses: { 200: { description: "The deployment after the request", content: json(Deployment) }, ...problems(401, 403, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { workspaceId } = await findRelease(c, id, "deploy:trigger");
    const view = answered(await deploymentOrchestrator(c.env, id).cancel({ id: c.var.auth.user.id }));
    await audit(c, await c.var.db(), {
      eventType: "data",
      action: "deployment.cancel",
      result: "success",
      workspaceId,
      resourceType: "deployment",
      resourceId: id,
      details: { status: view.status },
    });
    return c.json(await shown(c, view), 200);
  },
);

deploymentRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/deployments/{id}/rollback",
    tags: ["deployments"],
    summary: "Put back what this deployment replaced, or an earlier deployment of the project",
    ...authed,
    request: { params: Params, body: { content: json(RollbackBody), required: false } },
    responses: { 200: { description: "The deployment, rolling back", content: json(Deployment) }, ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { toDeploymentId } = c.req.valid("json");
    const { release, workspaceId } = await findRelease(c, id, "deploy:trigger");
    const stub = deploymentOrchestrator(c.env, id);
    let targets: { stage: number; to: string }[] | undefined;
    if (toDeploymentId) {
      const view = await stub.view();
      const db = await c.var.db();
      const earlier = await db
        .select({ stage: deployments.stage, to: deployments.platformDeploymentId })
        .from(deployments)
        .innerJoin(releases, eq(releases.id, deployments.releaseId))
        .where(and(eq(deployments.releaseId, toDeploymentId), eq(releases.projectId, release.projectId)));
      targets = (view?.stages ?? []).flatMap((s, stage) => {
        const to = earlier.find((e) => e.stage === s.name)?.to;
        return to ? [{ stage, to }] : [];
      });
      if (earlier.length === 0)
        throw new SparkiError("validation", {
          detail: `Deployment ${toDeploymentId} is not one of this project's.`,
          errors: [{ pointer: "/toDeploymentId", message: "unknown deployment" }],
        });
      if (targets.length === 0) throw new SparkiError("conflict", { detail: `Deployment ${toDeploymentId} deployed none of this deployment's stages.` });
    }
    const view = answered(await stub.rollback({ id: c.var.auth.user.id }, targets));
    await audit(c, await c.var.db(), {
      eventType: "data",
      action: "deployment.rollback",
      result: "success",
      workspaceId,
      resourceType: "deployment",
      resourceId: id,
      details: { automatic: false, toDeploymentId: toDeploymentId ?? null },
    });
    return c.json(await shown(c, view), 200);
  },
);

/** Live status: every event of the deployment as it happens (WebSocket). */
deploymentRoutes.get("/v1/deployments/:id/events", authenticate, async (c) => {
  const id = parseRequestPart(Params.shape.id, c.req.param("id"), "path");
  await findRelease(c, id, "project:read");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new SparkiError("validation", { detail: "This route is a WebSocket; for the deployment, GET /v1/deployments/:id." });
  }
  return deploymentOrchestrator(c.env, id).fetch("https://orchestrator/events", { headers: c.req.raw.headers });
});
