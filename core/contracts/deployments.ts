import { z } from "zod";
import { DEPLOYMENT_STATUSES } from "../deploy/machine.ts";
import { APPROVER_ROLES } from "../deploy/stage-rules.ts";
import { Timestamp } from "./common.js";

/**
 * A deployment, as the API shows it: one request to put a build on its stages (for example
 * staging then production), driven by one DeploymentOrchestrator. Each stage it reaches is one
 * attempt (a row of the `deployments` table) with its own id; `toDeploymentId` in a rollback
 * names an earlier deployment whose version of each stage is put back.
 */
export const DeploymentStatus = z.enum(DEPLOYMENT_STATUSES);

export const DeploymentStage = z
  .object({
    /** The stage attempt's id. */
    id: z.uuid(),
    name: z.string(),
    platform: z.string(),
    strategy: z.enum(["all-at-once", "blue-green", "canary"]),
    status: z.enum(["waiting", "deploying", "verifying", "healthy", "unhealthy", "rolled_back", "skipped"]),
    /** A person approves before the stage deploys (the project's stage rule, or sparki.yml tightening it). */
    approval: z.boolean(),
    /** Roles that may approve the stage (the project's stage rule when the deployment was made). */
    approverRoles: z.array(z.enum(APPROVER_ROLES)),
    /**
     * Who approved the stage (their email as it is now), and when; null until someone does. Once
     * the approver's account is deleted, `approvedBy` is null and `approvedAt` stays.
     */
    approvedBy: z.object({ id: z.uuid(), email: z.string() }).nullable(),
    approvedAt: Timestamp.nullable(),
    /** Share of traffic on the new version (canary steps; 100 once it is the live one). */
    trafficPercent: z.number().int().min(0).max(100),
    /** Consecutive passing and failing health checks so far. */
    passes: z.number().int(),
    failures: z.number().int(),
    /** Where this stage's new version is served, when known. */
    url: z.string().nullable(),
    startedAt: Timestamp.nullable(),
    completedAt: Timestamp.nullable(),
  })
  .meta({ id: "DeploymentStage" });
export type DeploymentStage = z.infer<typeof DeploymentStage>;

export const DeploymentEventView = z
  .object({
    seq: z.number().int(),
    at: Timestamp,
    /** validated, stage_started, deployed, health, traffic, approval_needed, approved, promoted, rolling_back, rolled_back, cancelled, failed, succeeded… */
    type: z.string(),
    stage: z.string().nullable(),
    /** Says who asked for it ("approved by a@b.c") by their email while their account exists, then as "a deleted user". */
    message: z.string(),
  })
  .meta({ id: "DeploymentEvent" });
export type DeploymentEventView = z.infer<typeof DeploymentEventView>;

export const DeploymentSummary = z
  .object({
    id: z.uuid(),
    projectId: z.uuid(),
    buildId: z.uuid(),
    commitSha: z.string().nullable(),
    branch: z.string(),
    status: DeploymentStatus,
    /** Why it failed, was cancelled or rolled back. */
    reason: z.string().nullable(),
    /**
     * "push" when a green build started it, "manual" for POST /v1/builds/:id/deploy, "preview" for
     * a pull request's preview (its one stage is `pr-<number>`).
     */
    trigger: z.enum(["push", "manual", "preview"]),
    /** The pull request a preview deployment is for; null for every other deployment. */
    pullRequest: z.number().int().nullable(),
    createdAt: Timestamp,
    completedAt: Timestamp.nullable(),
  })
  .meta({ id: "DeploymentSummary" });
export type DeploymentSummary = z.infer<typeof DeploymentSummary>;

export const Deployment = DeploymentSummary.extend({
  stages: z.array(DeploymentStage),
  events: z.array(DeploymentEventView),
}).meta({ id: "Deployment" });
export type Deployment = z.infer<typeof Deployment>;

export const DeployBuildBody = z.strictObject({
  /** Deploy only this stage (and nothing after it); by default every stage, in order. */
  stage: z.string().min(1).max(50).optional(),
});

export const RollbackBody = z.strictObject({
  /** An earlier deployment of this project to put back; by default each stage's last healthy one. */
  toDeploymentId: z.uuid().optional(),
});

export const DeploymentListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(200).optional(),
  status: DeploymentStatus.optional(),
});

/** One message on `GET /v1/deployments/:id/events` (WebSocket): the event and the deployment after it. */
export const DeploymentSocketMessage = z.object({ event: DeploymentEventView, deployment: Deployment });
