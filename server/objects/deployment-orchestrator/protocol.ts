/**
 * What the API hands a DeploymentOrchestrator, and what the orchestrator keeps. Only ids and
 * settings: credentials are read from the project's encrypted secrets when they are needed and
 * never stored here.
 */
import { z } from "zod";
import { Traceparent } from "../../../core/tracing/context.ts";
import type { Deployment, DeploymentEventView, DeploymentStage } from "../../../core/contracts/deployments.ts";
import type { DeploymentState, RollbackTarget } from "../../../core/deploy/machine.ts";
import type { PlatformDeployment } from "../../../core/deploy/adapter.ts";
import { APPROVER_ROLES } from "../../../core/deploy/stage-rules.ts";

export const PLATFORMS = ["sparki-static", "script", "railway", "render", "fly", "vercel"] as const;

export const ResolvedHealthCheck = z.object({
  path: z.string().nullable(),
  url: z.string().nullable(),
  expectedStatus: z.number().int(),
  intervalSeconds: z.number().positive(),
  timeoutSeconds: z.number().positive(),
});
export type ResolvedHealthCheck = z.infer<typeof ResolvedHealthCheck>;

export const StageInit = z.object({
  /** The stage attempt's row in `deployments`. */
  attemptId: z.uuid(),
  name: z.string().min(1),
  platform: z.enum(PLATFORMS),
  strategy: z.enum(["all-at-once", "blue-green", "canary"]),
  /** The project's stage rule OR sparki.yml's approval (core/deploy/stage-rules.ts). */
  approval: z.boolean(),
  /** Roles that may approve, from the project's stage rule when the deployment was made. */
  approverRoles: z.array(z.enum(APPROVER_ROLES)).default([...APPROVER_ROLES]),
  /** Null: the platform's own readiness is the only check. */
  healthCheck: ResolvedHealthCheck.nullable(),
  healthyThreshold: z.number().int().min(1),
  unhealthyThreshold: z.number().int().min(1),
  trafficSteps: z.array(z.number().int().min(0).max(100)).min(1),
  pauseMs: z.number().int().min(0),
  settings: z.record(z.string(), z.unknown()),
  env: z.record(z.string(), z.string()),
  /** The build artifact (its name under the build's artifacts/) this stage deploys. */
  artifact: z.string().nullable(),
  /** The stage's last healthy platform deployment, to roll back to. */
  previous: z.string().nullable(),
  /** platform script: what a runner runs to deploy, and to roll back. */
  script: z.string().nullable().default(null),
  rollbackScript: z.string().nullable().default(null),
});
export type StageInit = z.infer<typeof StageInit>;

export const ReleaseInit = z.object({
  releaseId: z.uuid(),
  projectId: z.uuid(),
  workspaceId: z.uuid(),
  buildId: z.uuid(),
  commitSha: z.string().nullable(),
  branch: z.string(),
  /** "preview": a pull request's build on its own `pr-<n>` stage (server/use-cases/start-preview.ts). */
  trigger: z.enum(["push", "manual", "preview"]),
  /** The pull request a preview is for; null otherwise (and in deployments stored before previews). */
  pullRequest: z.number().int().positive().nullable().default(null),
  actorId: z.uuid().nullable(),
  createdAt: z.number().int(),
  stages: z.array(StageInit).min(1),
  /** The W3C traceparent of what started the deployment: its stages and health checks join that trace. */
  traceparent: Traceparent.optional(),
});
export type ReleaseInit = z.infer<typeof ReleaseInit>;

export interface StageTimes {
  startedAt: number | null;
  completedAt: number | null;
  url: string | null;
  /**
   * Who approved the stage, and when (absent in deployments stored before approvals were
   * recorded). Deployments stored before people were kept by id also hold the approver's email
   * here; it is never shown (people.ts shows the account's email while it exists).
   */
  approvedBy?: (Person & { email?: string }) | null;
  approvedAt?: number | null;
}

/**
 * A person the orchestrator records (who approved, cancelled or asked for a rollback): their
 * user id only. Their email is looked up whenever a view is shown, so it goes when their
 * account does (an RPC argument, so parsed; an email passed along is dropped).
 */
export const Person = z.object({ id: z.uuid() });
export type Person = z.infer<typeof Person>;

/** An event as the orchestrator keeps it: `actor`, when a person asked for it, is shown after its words ("approved" by …). */
export interface RecordedEvent extends DeploymentEventView {
  actor: string | null;
}

/**
 * A deployment as the orchestrator answers it: people by user id only. What the API and the
 * events socket send is `showDeployment` of it (people.ts), with each person's current email.
 */
export interface OrchestratorView extends Omit<Deployment, "stages" | "events"> {
  stages: (Omit<DeploymentStage, "approvedBy"> & { approvedBy: Person | null })[];
  events: RecordedEvent[];
}

export interface Meta {
  init: ReleaseInit;
  state: DeploymentState;
  times: StageTimes[];
  /** A platform deployment started for the current stage, waiting to be ready. */
  pending: PlatformDeployment | null;
  /** Polls of `pending` in a row the platform could not answer (429, 5xx, unreachable); absent in older state. */
  pollRetries?: number;
  /** The traffic last applied: `${stage}:${step}`, so a step is routed once. */
  routed: string | null;
  nextCheckAt: number;
  /** When the current status gives up (time_out). */
  deadline: number | null;
  completedAt: number | null;
  /** Events up to this seq are in Postgres. */
  syncedSeq: number;
  syncedStatus: string | null;
  syncAttempts: number;
  syncRetryAt: number | null;
  /** The finished status /metrics has heard of (a succeeded deployment can be rolled back later). */
  metricsStatus: string | null;
  /** The stage whose turn this release holds (StageLock), so it is released once done with it. */
  holding?: string | null;
  /** The stage this release waits its turn for, while it waits. */
  queuedFor?: string | null;
  /** Audit rows to write with the next sync (automatic rollbacks have no request to write them). */
  audits: { action: string; details: Record<string, unknown> }[];
}

/** What a caller learns when its request does not apply (the route turns it into a 409). */
export interface Refusal {
  refused: string;
}

/**
 * What a stub of a release's orchestrator answers (server/objects/clients.ts hands these out).
 * `fetch` (the /events socket) comes with every stub. Nothing the alarm's steps use is here.
 */
export interface DeploymentOrchestratorRpc extends Rpc.DurableObjectBranded {
  /** Starts the deployment. Idempotent. */
  start(init: ReleaseInit): Promise<OrchestratorView>;
  view(): Promise<OrchestratorView | null>;
  /** Approves the waiting stage, if it is still `stage` (the one the caller's role was checked against). */
  approve(by: Person, stage: string): Promise<OrchestratorView | Refusal>;
  /** `by`: the person who cancels, or what did when no person did ("the close of pull request #3"). */
  cancel(by: Person | string): Promise<OrchestratorView | Refusal>;
  rollback(by: Person, targets: RollbackTarget[] | undefined): Promise<OrchestratorView | Refusal>;
  /** Its stage's turn came (or a newer release superseded its wait): look again now. */
  wake(): Promise<void>;
}
