import { z } from "zod";
import { RunnerLabels } from "../../../core/contracts/runner.ts";

/** A ready job, offered to a pool until one of its runners claims it. */
export const JobOffer = z.object({
  jobId: z.string().min(1).max(128),
  buildId: z.uuid(),
  /** Labels a runner must all carry to take the job (the pipeline's `runsOn`). */
  labels: RunnerLabels,
});
export type JobOffer = z.infer<typeof JobOffer>;

export const Claimant = z.object({ runnerId: z.uuid(), labels: RunnerLabels });
export type Claimant = z.infer<typeof Claimant>;

/** Longest a claim may wait for work before answering "nothing" (the runner asks again). */
export const maxClaimWaitMs = 30_000;

/** Whether a runner with `runnerLabels` may take a job asking for `jobLabels`. */
export function labelsMatch(jobLabels: readonly string[], runnerLabels: readonly string[]): boolean {
  const have = new Set(runnerLabels);
  return jobLabels.every((label) => have.has(label));
}

/** The pool a workspace's runners serve; `shared` serves every workspace. */
export const sharedPool = "shared";
export const workspacePool = (workspaceId: string) => `workspace:${workspaceId}`;
