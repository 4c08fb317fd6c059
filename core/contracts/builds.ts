import { z } from "zod";
import { BUILD_STATUSES, JOB_STATUSES } from "../build/index.ts";
import { BranchName, Timestamp } from "./common.js";
import { StepReport } from "./runner.ts";

export const BuildStatus = z.enum(BUILD_STATUSES);

/** A build's job as the API shows it: status, exit code, timings and its steps. */
export const BuildJob = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(["plan", "steps"]),
    status: z.enum(JOB_STATUSES),
    exitCode: z.number().int().nullable(),
    attempt: z.number().int(),
    startedAt: Timestamp.nullable(),
    completedAt: Timestamp.nullable(),
    steps: z.array(StepReport.extend({ name: z.string() })),
    /** The labels a runner must all carry to take the job (sorted; none for a plan job). */
    labels: z.array(z.string()),
    /**
     * Why a queued job has not started, in words: the jobs it needs, "no runner online with
     * labels linux, gpu", or every fitting runner busy. Null once it runs, or when a runner is
     * about to take it.
     */
    waiting: z.object({ reason: z.string() }).nullable(),
  })
  .meta({ id: "BuildJob" });
export type BuildJob = z.infer<typeof BuildJob>;

export const TriggerBuildBody = z.strictObject({
  branch: BranchName.optional(),
  commitSha: z
    .string()
    .regex(/^[0-9a-f]{40}$/, "must be a full 40-character commit SHA")
    .optional(),
});

export const BuildSummary = z
  .object({
    id: z.uuid(),
    projectId: z.uuid(),
    number: z.number().int(),
    /** Empty for a tag build. */
    branch: z.string(),
    /** The pushed tag a tag build is for (it built the tag's commit); null for other builds. */
    tag: z.string().nullable(),
    commitSha: z.string().nullable(),
    status: BuildStatus,
    pipelineId: z.uuid().nullable(),
    error: z.string().nullable(),
    createdAt: Timestamp,
    /** When the build was queued: shown while it waits, since nothing has started yet. */
    queuedAt: Timestamp,
    startedAt: Timestamp.nullable(),
    completedAt: Timestamp.nullable(),
  })
  .meta({ id: "BuildSummary" });

export const Build = BuildSummary.extend({ jobs: z.array(BuildJob) }).meta({ id: "Build" });

export const BuildListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(200).optional(),
  status: BuildStatus.optional(),
  branch: BranchName.optional(),
});

export const Artifact = z.object({ name: z.string(), size: z.number().int(), uploadedAt: Timestamp }).meta({ id: "Artifact" });
