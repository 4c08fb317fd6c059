/**
 * GET /v1/workspaces/:id/runner-queue: how many of a workspace's jobs wait for a runner, per
 * pool and per label set, so an autoscaler (KEDA, an autoscaling group) knows when to add
 * runners and which kind. Read from the pools' dispatchers, where the offers live.
 */
import { z } from "zod";
import { RunnerLabel, RunnerLimits } from "./runner.ts";
import { Timestamp } from "./common.js";

export const RunnerQueueLabelSet = z
  .object({
    /** The labels a runner must all carry (sorted). */
    labels: z.array(z.string()),
    jobs: z.number().int().nonnegative(),
    /** When the longest-waiting of these jobs was offered to the pool. */
    oldestQueuedAt: Timestamp,
  })
  .meta({ id: "RunnerQueueLabelSet" });

export const RunnerQueuePool = z
  .object({
    /** Jobs waiting in this pool. A job offered to both pools counts in each. */
    waiting: z.number().int().nonnegative(),
    /** With `?runnerLabels=`: the waiting jobs a runner carrying those labels could take. */
    matching: z.number().int().nonnegative().optional(),
    labelSets: z.array(RunnerQueueLabelSet),
  })
  .meta({ id: "RunnerQueuePool" });

export const RunnerQueue = z
  .object({
    workspaceId: z.uuid(),
    pools: z.object({
      /** The workspace's own runners' pool. */
      workspace: RunnerQueuePool,
      /** This workspace's jobs in the instance's shared pool (as its shared_runners policy allows). */
      shared: RunnerQueuePool,
    }),
  })
  .meta({ id: "RunnerQueue" });
export type RunnerQueue = z.infer<typeof RunnerQueue>;

export const RunnerQueueQuery = z.strictObject({
  /** Comma-separated labels of a kind of runner, e.g. `linux,docker`. */
  runnerLabels: z
    .string()
    .max(RunnerLimits.labels * 65)
    .transform((v) =>
      v
        .split(",")
        .map((l) => l.trim())
        .filter((l) => l.length > 0),
    )
    .pipe(z.array(RunnerLabel).max(RunnerLimits.labels))
    .optional(),
});
