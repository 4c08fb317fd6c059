/**
 * A project's stage rules: whether a stage needs an approval, which branches may deploy to it,
 * and who may approve (core/deploy/stage-rules.ts merges them with sparki.yml, which can only
 * tighten them). Anyone who reads the project reads them; only owners and admins set them
 * (`deploy:configure`), since a developer who could would lift them.
 */
import { createRoute } from "@hono/zod-openapi";
import { and, asc, desc, eq } from "drizzle-orm";
import { z } from "zod";
import { PutStageRuleBody, StageName, StageRule, StageRuleList } from "../../core/contracts/stage-rules.ts";
import { defaultStageRule } from "../../core/deploy/stage-rules.ts";
import { SparkiError } from "../../core/errors.js";
import { PipelineSchema } from "../../core/pipeline/index.ts";
import { pipelines, stageRules } from "../../server/db/schema.js";
import { audit } from "../services/audit.js";
import { authorize } from "../services/access.js";
import { findProject } from "../services/projects.js";
import { ruleOf } from "../../server/deploy/stage-rules.js";
import { authedForProject, json, jsonBody, newRouter, problems } from "./router.js";

export const stageRuleRoutes = newRouter();
const ProjectParams = z.object({ id: z.uuid() });
const RuleParams = z.object({ id: z.uuid(), stage: StageName });
type Row = typeof stageRules.$inferSelect;

function view(row: Row): StageRule {
  const rule = ruleOf(row);
  return {
    stage: row.stage,
    requireApproval: rule.requireApproval,
    branches: [...rule.branches],
    approverRoles: [...rule.approverRoles],
    configured: true,
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt.toISOString(),
  };
}

stageRuleRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/stage-rules",
    tags: ["deployments"],
    summary: "The project's stage rules, and the stages of its newest pipeline that have none (shown with the default)",
    ...authedForProject(),
    request: { params: ProjectParams },
    responses: { 200: { description: "Stage rules", content: json(StageRuleList) }, ...problems(400, 401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "project:read", { type: "project", id });
    const db = await c.var.db();
    const rows = await db.select().from(stageRules).where(eq(stageRules.projectId, id)).orderBy(asc(stageRules.stage));
    const [newest] = await db
      .select({ configuration: pipelines.configuration })
      .from(pipelines)
      .where(eq(pipelines.projectId, id))
      .orderBy(desc(pipelines.version))
      .limit(1);
    const parsed = PipelineSchema.safeParse(newest?.configuration);
    const planned = parsed.success ? parsed.data.jobs.flatMap((j) => (j.deploy ? [j.deploy.stage] : [])) : [];
    const fallback = defaultStageRule(project.defaultBranch);
    const unset: StageRule[] = planned
      .filter((stage) => !rows.some((r) => r.stage === stage))
      .map((stage) => ({
        stage,
        requireApproval: fallback.requireApproval,
        branches: [...fallback.branches],
        approverRoles: [...fallback.approverRoles],
        configured: false,
        updatedBy: null,
        updatedAt: null,
      }));
    return c.json({ defaultBranch: project.defaultBranch, items: [...rows.map(view), ...unset] }, 200);
  },
);

stageRuleRoutes.openapi(
  createRoute({
    method: "put",
    path: "/v1/projects/{id}/stage-rules/{stage}",
    tags: ["deployments"],
    summary: "Set a stage's rule (owners and admins): approval, the branches that may deploy, who approves",
    ...authedForProject(),
    request: { params: RuleParams, body: jsonBody(PutStageRuleBody) },
    responses: {
      200: { description: "Replaced", content: json(StageRule) },
      201: { description: "Created", content: json(StageRule) },
      ...problems(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const { id, stage } = c.req.valid("param");
    const body = c.req.valid("json");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "deploy:configure", { type: "project", id });
    const db = await c.var.db();
    const values = {
      requireApproval: body.requireApproval,
      branches: body.branches,
      approverRoles: body.approverRoles,
      updatedBy: c.var.auth.user.id,
      updatedAt: new Date(),
    };
    const { row, created } = await db.transaction(async (tx) => {
      const [existing] = await tx
        .select()
        .from(stageRules)
        .where(and(eq(stageRules.projectId, id), eq(stageRules.stage, stage)))
        .for("update");
      const [saved] = await tx
        .insert(stageRules)
        .values({ projectId: id, stage, ...values })
        .onConflictDoUpdate({ target: [stageRules.projectId, stageRules.stage], set: values })
        .returning();
      if (!saved) throw new Error("upsert returned no row");
      const before = existing ? { requireApproval: existing.requireApproval, branches: existing.branches, approverRoles: existing.approverRoles } : null;
      await audit(c, tx, {
        eventType: "data",
        action: existing ? "stage_rule.update" : "stage_rule.create",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
        details: { stage, before, after: { requireApproval: body.requireApproval, branches: body.branches, approverRoles: body.approverRoles } },
      });
      return { row: saved, created: !existing };
    });
    return c.json(view(row), created ? 201 : 200);
  },
);

stageRuleRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/projects/{id}/stage-rules/{stage}",
    tags: ["deployments"],
    summary: "Remove a stage's rule (owners and admins): the stage then accepts only the project's default branch",
    ...authedForProject(),
    request: { params: RuleParams },
    responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id, stage } = c.req.valid("param");
    const project = await findProject(c, id);
    await authorize(c, project.workspaceId, "deploy:configure", { type: "project", id });
    const db = await c.var.db();
    await db.transaction(async (tx) => {
      const [row] = await tx
        .delete(stageRules)
        .where(and(eq(stageRules.projectId, id), eq(stageRules.stage, stage)))
        .returning();
      if (!row) throw new SparkiError("not_found", { detail: `Stage ${stage} of this project has no rule.` });
      await audit(c, tx, {
        eventType: "data",
        action: "stage_rule.delete",
        result: "success",
        workspaceId: project.workspaceId,
        resourceType: "project",
        resourceId: id,
        details: { stage, before: { requireApproval: row.requireApproval, branches: row.branches, approverRoles: row.approverRoles } },
      });
    });
    return c.body(null, 204);
  },
);
