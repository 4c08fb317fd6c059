import { z } from "zod";
import {
  Artifact,
  EnvMap,
  JobCache,
  JobStep,
  type CompleteRequest,
  type HeartbeatResponse,
  type Job,
  type Lease,
  type StepReport,
} from "../../../core/contracts/runner.ts";
import { BuildJob } from "../../../core/contracts/builds.ts";
import { BUILD_STATUSES } from "../../../core/build/index.ts";
import { PipelineSchema, type Pipeline } from "../../../core/pipeline/index.ts";
import { Traceparent } from "../../../core/tracing/context.ts";
import { RuntimeRequirement } from "../../../core/runtimes/labels.ts";

/** What the API hands a new build's coordinator. */
export const BuildInit = z.object({
  buildId: z.uuid(),
  projectId: z.uuid(),
  workspaceId: z.uuid(),
  number: z.number().int().positive(),
  /** The project's detected framework when the build was triggered, for metrics. */
  framework: z.string().nullable().default(null),
  repo: z.object({
    url: z.string().min(1),
    branch: z.string().min(1),
    /** A tag build's tag: its jobs run on no branch, and the runner checks the commit against the tag. */
    tag: z.string().min(1).optional(),
    commitSha: z
      .string()
      .regex(/^[0-9a-f]{40}$/)
      .nullable(),
  }),
  /** Pools the build's jobs are offered to, in order of preference. */
  pools: z.array(z.string().min(1)).min(1),
  /**
   * A pipeline given up front (a `script` deployment's deploy or rollback script): no plan step,
   * and its jobs run as they are, deploy jobs included. Needs the commit.
   */
  pipeline: PipelineSchema.optional(),
  /** The W3C traceparent of the request that triggered the build: its spans and jobs join that trace. */
  traceparent: Traceparent.optional(),
});
export type BuildInit = z.infer<typeof BuildInit>;

/** Whose a held job is: its build's project and workspace, and the ids of the jobs it needs (whose artifacts it may read). */
export interface LeaseOwner {
  projectId: string;
  workspaceId: string;
  needs: string[];
}

/** A job as the coordinator keeps it: what to run, and what runs it. */
export const JobSpec = z.object({
  id: z.string(),
  key: z.string(),
  name: z.string(),
  kind: z.enum(["plan", "steps"]),
  needs: z.array(z.string()),
  labels: z.array(z.string()),
  steps: z.array(JobStep),
  env: EnvMap,
  artifacts: z.array(Artifact),
  timeoutSeconds: z.number().int().positive(),
  /** The dependency cache the runner restores and saves; absent for none (and in older stored specs). */
  cache: JobCache.optional(),
  /** The runtime the job needs (its label is among `labels`); absent for none. */
  runtime: RuntimeRequirement.optional(),
});
export type JobSpec = z.infer<typeof JobSpec>;

/** A build as GET /v1/builds/:id shows it (the live part; Postgres has the rest). */
export const BuildView = z.object({
  id: z.uuid(),
  status: z.enum(BUILD_STATUSES),
  attempt: z.number().int(),
  commitSha: z.string().nullable(),
  error: z.string().nullable(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  jobs: z.array(BuildJob),
  /** The pools its ready jobs are offered to now (the API asks them why a job waits). */
  pools: z.array(z.string()),
});
export type BuildView = z.infer<typeof BuildView>;

/** The newer build that supersedes an older one: its number (for the reason) and its commit. */
export const Superseder = z.object({
  number: z.number().int().positive(),
  commitSha: z
    .string()
    .regex(/^[0-9a-f]{40}$/)
    .nullable(),
});
export type Superseder = z.infer<typeof Superseder>;

/** Why a runner's call on a job was refused; the API answers 409 for each. */
export type LeaseRefusal = { refused: "lease_lost" | "not_found" | "illegal"; detail: string };

/** Who calls on a held job: the lease from its job token, and the runner the lease is bound to. */
export type Holder = Lease & { runnerId: string };

/** A runner asking for a job: a shared runner has no workspace. */
export type Claimant = { runnerId: string; workspaceId: string | null };

/**
 * What a stub of a build's coordinator answers (server/objects/clients.ts hands these out); the
 * class implements it, and nothing else of the class is typed for callers. `fetch` (the log
 * sockets and logs.txt) comes with every stub.
 */
export interface BuildCoordinatorRpc extends Rpc.DurableObjectBranded {
  /** Starts the build with its plan job. Idempotent. */
  start(init: BuildInit): Promise<void>;
  /** A pool's runner wants the job: the job without its token and secrets, or null when the claim loses. */
  claimJob(jobId: string, claimant: Claimant): Promise<Omit<Job, "jobToken"> | null>;
  /** Secret values to mask in every stored line of this build. */
  addMasks(values: string[]): Promise<void>;
  /** Which project a held job belongs to. */
  checkLease(jobId: string, holder: Holder): Promise<LeaseOwner | LeaseRefusal>;
  heartbeat(jobId: string, holder: Holder): Promise<HeartbeatResponse | LeaseRefusal>;
  stepUpdate(jobId: string, holder: Holder, stepId: string, update: Omit<StepReport, "id">): Promise<LeaseRefusal | null>;
  /** The plan job's result: the pipeline this build runs. */
  uploadPipeline(jobId: string, holder: Holder, pipeline: Pipeline, commitSha: string | null): Promise<LeaseRefusal | null>;
  complete(jobId: string, holder: Holder, result: Omit<CompleteRequest, "leaseId" | "fencingToken">): Promise<LeaseRefusal | null>;
  release(jobId: string, holder: Holder): Promise<LeaseRefusal | null>;
  /** Every job the revoked runner holds goes back to the queue; returns how many. */
  revokeRunner(runnerId: string): Promise<number>;
  /** Stops offering this build's jobs to a pool. */
  leavePool(pool: string): Promise<void>;
  /** Cancels the build; `reason` becomes its error line (a person's cancel has none). */
  cancel(reason?: string): Promise<BuildView | null>;
  /**
   * A newer build of the same group supersedes this one: cancelled with "superseded by build
   * #N", unless it builds the same commit. Before `start`, remembered and applied by `start`.
   */
  supersede(by: Superseder): Promise<void>;
  retry(): Promise<BuildView | null>;
  view(): Promise<BuildView | null>;
  /**
   * Retention: drops the finished build's stored log lines (the archive in R2 is the sweep's to
   * delete). Returns how many lines went; a build still running keeps its log (-1).
   */
  forgetLog(): Promise<number>;
}
