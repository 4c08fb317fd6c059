/**
 * Starting a deployment (release) of a build: its stages from the pipeline the build ran (the
 * deploy jobs, in order), each resolved into what the DeploymentOrchestrator needs, with the
 * stage's last healthy deployment to roll back to; the release's rows written; its orchestrator
 * started. `POST /v1/builds/:id/deploy` starts one by hand, the queue consumer when a build of a
 * deploying branch goes green.
 *
 * The pipeline comes from the commit being built, so whoever pushes a branch writes it: each
 * stage's approval, branches and approvers are the project's stage rules (set by owners and
 * admins), which the pipeline's own `approval` and `branches` can only tighten.
 */
import { and, desc, eq } from "drizzle-orm";
import { SparkiError } from "../../core/errors.js";
import { PipelineSchema, type Job } from "../../core/pipeline/index.ts";
import { previewNumber } from "../../core/deploy/preview.ts";
import { effectiveStage, type EffectiveStage } from "../../core/deploy/stage-rules.ts";
import type { OrchestratorView, ReleaseInit, StageInit } from "../objects/deployment-orchestrator/protocol.js";
import type { Bindings } from "../config.js";
import type { Db } from "../db/client.js";
import { builds, deployments, pipelines, projects, releases } from "../db/schema.js";
import { stageRulesOf } from "../deploy/stage-rules.js";
import { deploymentOrchestrator } from "../objects/clients.js";

/** sparki-static without a configured check: its root must answer 200, once. */
export const staticDefaultCheck = { path: "/", url: null, expectedStatus: 200, intervalSeconds: 2, timeoutSeconds: 5 };

type BuildRow = typeof builds.$inferSelect;

/** The deploy jobs of the build's pipeline, in order. */
export async function deployJobsOf(db: Db, build: BuildRow): Promise<Job[]> {
  if (!build.pipelineId) return [];
  const [row] = await db.select({ configuration: pipelines.configuration }).from(pipelines).where(eq(pipelines.id, build.pipelineId));
  const parsed = PipelineSchema.safeParse(row?.configuration);
  return parsed.success ? parsed.data.jobs.filter((j) => j.stage === "deploy" && j.deploy) : [];
}

/** The platform deployment a stage serves from its last healthy attempt, if any. */
async function lastHealthy(db: Db, projectId: string, stage: string): Promise<string | null> {
  const [row] = await db
    .select({ id: deployments.platformDeploymentId })
    .from(deployments)
    .where(and(eq(deployments.projectId, projectId), eq(deployments.stage, stage), eq(deployments.status, "healthy")))
    .orderBy(desc(deployments.completedAt))
    .limit(1);
  return row?.id ?? null;
}

/**
 * A UUID made from a seed, so a redelivered `build.completed` names the same release and stage
 * rows as the first delivery, and starting its orchestrator again is a no-op.
 */
export async function uuidFrom(seed: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seed))).slice(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function stageOf(db: Db, projectId: string, job: Job, effective: EffectiveStage, attemptId: string): Promise<StageInit> {
  const d = job.deploy;
  if (!d) throw new Error(`job ${job.id} is not a deploy job`);
  const hc = d.healthCheck;
  const previous = await lastHealthy(db, projectId, d.stage);
  const check = hc
    ? { path: hc.path ?? null, url: hc.url ?? null, expectedStatus: hc.expectedStatus, intervalSeconds: hc.intervalSeconds, timeoutSeconds: hc.timeoutSeconds }
    : d.platform === "sparki-static"
      ? staticDefaultCheck
      : null;
  return {
    attemptId,
    name: d.stage,
    platform: d.platform as StageInit["platform"],
    strategy: d.strategy,
    approval: effective.approval,
    approverRoles: effective.approverRoles,
    healthCheck: check,
    healthyThreshold: hc?.healthyThreshold ?? 1,
    unhealthyThreshold: hc?.unhealthyThreshold ?? 3,
    // A first deployment has nothing to share traffic with: a canary goes straight to 100%.
    trafficSteps: d.strategy === "canary" && previous ? (d.canarySteps ?? [100]) : d.strategy === "blue-green" ? [0, 100] : [100],
    pauseMs: d.strategy === "canary" && previous ? d.canaryPauseSeconds * 1000 : 0,
    settings: d.settings,
    env: job.env,
    artifact: d.artifact,
    previous,
    script: d.platform === "script" ? (job.steps[0]?.run ?? null) : null,
    rollbackScript: d.rollbackScript,
  };
}

export interface ReleaseRequest {
  build: BuildRow;
  project: { id: string; workspaceId: string; defaultBranch: string };
  trigger: "push" | "manual";
  actorId: string | null;
  /** Only this stage (manual deploys). */
  stage?: string;
}

/**
 * Writes the release and its stage rows, and returns what its orchestrator starts from; null
 * for a push when no stage accepts this branch. A manual deploy of a stage that does not accept
 * the branch is refused (403 `stage_rule`, naming the rule). A push release has ids made from the build, so
 * a second call for the same build returns the same release (its orchestrator start is a no-op).
 */
async function createRelease(db: Db, req: ReleaseRequest): Promise<ReleaseInit | null> {
  const { build, project } = req;
  if (build.status !== "succeeded")
    throw new SparkiError("conflict", { detail: `Build ${build.number ?? build.id} is ${build.status}; only a succeeded build deploys.` });
  if (build.untrusted)
    throw new SparkiError("conflict", { detail: `Build ${build.number ?? build.id} ran a fork's pull request without trust; it deploys nothing.` });
  // `pr-<n>` stages are pull request previews' (start-preview.ts): a pipeline naming one is not obeyed.
  const jobs = (await deployJobsOf(db, build)).filter((j) => previewNumber(j.deploy?.stage ?? "") === null);
  // A build without a branch matches no rule (core/deploy/stage-rules.ts).
  const branch = build.branch ?? "";
  const rules = await stageRulesOf(db, project.id);
  const planned = jobs.map((job) => {
    const stage = job.deploy?.stage ?? job.id;
    const request = { approval: job.deploy?.approval ?? false, branches: job.branches };
    return { job, stage, effective: effectiveStage(stage, rules.get(stage) ?? null, project.defaultBranch, request, branch) };
  });
  let chosen = planned;
  if (req.stage !== undefined) {
    chosen = planned.filter((p) => p.stage === req.stage);
    if (chosen.length === 0) {
      const names = planned.map((p) => p.stage).join(", ");
      throw new SparkiError("validation", {
        detail: `The pipeline has no stage ${req.stage}${names ? ` (it has ${names})` : ""}.`,
        errors: [{ pointer: "/stage", message: "unknown stage" }],
      });
    }
  }
  if (req.trigger === "push") chosen = chosen.filter((p) => p.effective.allowed);
  else {
    const refused = chosen.find((p) => !p.effective.allowed);
    if (refused) {
      const others = chosen.length > 1 ? ` Deploy another stage with {"stage": …}.` : "";
      throw new SparkiError("stage_rule", {
        detail: `Branch ${branch || "(none)"} cannot deploy to stage ${refused.stage}: ${refused.effective.refusal}.${others}`,
      });
    }
  }
  if (chosen.length === 0) {
    if (req.trigger === "push") return null;
    throw new SparkiError("conflict", { detail: "The build's pipeline has no deployments; add `deployments:` to sparki.yml." });
  }
  const releaseId = req.trigger === "push" ? await uuidFrom(`push:${build.id}`) : crypto.randomUUID();
  const stages = await Promise.all(
    chosen.map(async ({ job, effective }, i) =>
      stageOf(db, project.id, job, effective, req.trigger === "push" ? await uuidFrom(`${releaseId}:${i}`) : crypto.randomUUID()),
    ),
  );
  const init: ReleaseInit = {
    releaseId,
    projectId: project.id,
    workspaceId: project.workspaceId,
    buildId: build.id,
    commitSha: build.commitSha,
    branch,
    trigger: req.trigger,
    pullRequest: null,
    actorId: req.actorId,
    createdAt: Date.now(),
    stages,
  };
  await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(releases)
      .values({
        id: init.releaseId,
        projectId: project.id,
        buildId: build.id,
        status: "pending",
        trigger: req.trigger,
        createdBy: req.actorId,
        createdAt: new Date(init.createdAt),
      })
      .onConflictDoNothing()
      .returning({ id: releases.id });
    if (!row) return;
    await tx.insert(deployments).values(
      stages.map((s, position) => ({
        id: s.attemptId,
        buildId: build.id,
        releaseId: init.releaseId,
        projectId: project.id,
        position,
        stage: s.name,
        status: "waiting",
        platform: s.platform,
        strategy: s.strategy,
        approval: s.approval,
      })),
    );
  });
  return init;
}

/** A build and its project as a release needs them; null when the build is gone. */
export async function buildWithProject(db: Db, buildId: string) {
  const [row] = await db
    .select({ build: builds, project: { id: projects.id, workspaceId: projects.workspaceId, defaultBranch: projects.defaultBranch } })
    .from(builds)
    .innerJoin(projects, eq(projects.id, builds.projectId))
    .where(eq(builds.id, buildId));
  return row ?? null;
}

/**
 * Creates the release and starts its orchestrator; null for a push that no stage accepts.
 * `created` runs once the release's rows are written and before the orchestrator starts (the
 * API's audit entry).
 */
export async function startDeployment(
  env: Pick<Bindings, "DEPLOYMENT_ORCHESTRATOR">,
  db: Db,
  req: ReleaseRequest,
  created?: (init: ReleaseInit) => Promise<void>,
  traceparent?: string | null,
): Promise<{ init: ReleaseInit; deployment: OrchestratorView } | null> {
  const created_ = await createRelease(db, req);
  if (!created_) return null;
  const init: ReleaseInit = traceparent ? { ...created_, traceparent } : created_;
  await created?.(init);
  return { init, deployment: await deploymentOrchestrator(env, init.releaseId).start(init) };
}
