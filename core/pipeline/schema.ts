import { z } from "zod";
import { HealthCheckSchema } from "../config/schema.ts";
import { RuntimeRequirement } from "../runtimes/labels.ts";

/** Stage names in the order they run. */
export const StageNameSchema = z.enum(["install", "lint", "test", "build", "deploy"]);
export type StageName = z.infer<typeof StageNameSchema>;

/** One shell command of a job. */
export const StepSchema = z.object({
  name: z.string(),
  run: z.string(),
});
export type Step = z.infer<typeof StepSchema>;

/** Dependency cache restored before and saved after a job. */
export const CacheSchema = z.object({
  /** Exact key: package manager + lockfile SHA-256, so any lockfile change misses. */
  key: z.string(),
  /** Prefixes tried when the exact key misses (a warm, slightly stale cache beats none). */
  restoreKeys: z.array(z.string()),
  paths: z.array(z.string()),
  /** The runtime whose version the runner adds to the key (core/pipeline/cache.ts); absent in older pipelines. */
  runtime: z.string().optional(),
  /** What the step named `install` leaves (core/pipeline/cache.ts installPaths); absent: no job skips its install. */
  installPaths: z.array(z.string()).optional(),
  /** Key of an install result any build of the same lockfile may restore; absent: shared within a build only. */
  installKey: z.string().optional(),
});
export type Cache = z.infer<typeof CacheSchema>;

/** What a deploy job hands the DeploymentOrchestrator. */
export const DeployTargetSchema = z.object({
  stage: z.string(),
  platform: z.string(),
  strategy: z.enum(["all-at-once", "blue-green", "canary"]),
  canarySteps: z.array(z.number()).nullable(),
  canaryPauseSeconds: z.number().int().default(0),
  approval: z.boolean(),
  healthCheck: HealthCheckSchema.nullable(),
  settings: z.record(z.string(), z.unknown()).default({}),
  rollbackScript: z.string().nullable().default(null),
  /** The build artifact this stage deploys (the app's output directory), null when there is none. */
  artifact: z.string().nullable().default(null),
});

/** A unit of work given to one runner. */
export const JobSchema = z.object({
  id: z.string(),
  name: z.string(),
  stage: StageNameSchema,
  /** Path of the app the job belongs to ("." for a single project). */
  app: z.string(),
  needs: z.array(z.string()),
  runsOn: z.array(z.string()),
  workingDirectory: z.string(),
  timeoutMinutes: z.number().int().positive(),
  env: z.record(z.string(), z.string()),
  cache: CacheSchema.nullable(),
  steps: z.array(StepSchema),
  /** Repo-relative paths uploaded as the job's artifacts. */
  artifacts: z.array(z.string()),
  /** Branches the job runs on; null for every branch the pipeline triggers on. */
  branches: z.array(z.string()).nullable(),
  deploy: DeployTargetSchema.nullable(),
  /**
   * The runtime version the job needs (core/runtimes/labels.ts): it goes only to a runner that
   * reports that label, and runs with that version first on PATH. Absent when nothing was pinned
   * (and in older pipelines, whose content hash it so leaves alone).
   */
  runtime: RuntimeRequirement.optional(),
});
export type Job = z.infer<typeof JobSchema>;

/** A generated pipeline: what `pipelines.configuration` stores. */
export const PipelineSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  triggers: z.object({
    branches: z.array(z.string()),
    pullRequests: z.boolean(),
    /** sparki.yml's `pipeline.tags`; absent when left out (every tag builds). */
    tags: z.array(z.string()).optional(),
    /** sparki.yml's `pipeline.cancelSuperseded`; absent when left out (each trigger's default). */
    cancelSuperseded: z.boolean().optional(),
  }),
  env: z.record(z.string(), z.string()),
  stages: z.array(z.object({ name: StageNameSchema, jobs: z.array(z.string()) })),
  jobs: z.array(JobSchema),
});
export type Pipeline = z.infer<typeof PipelineSchema>;
