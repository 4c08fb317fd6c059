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

/** What a stub of a pool's dispatcher answers (server/objects/clients.ts hands these out). */
export interface RunnerDispatcherRpc extends Rpc.DurableObjectBranded {
  /** Adds (or refreshes) an offer; a waiting runner that fits gets it at once. Idempotent. */
  offer(offer: JobOffer): Promise<void>;
  /** Removes an offer (claimed through another pool, or cancelled). */
  withdraw(jobId: string): Promise<void>;
  /** The oldest offer the runner's labels fit, waiting up to `waitMs`; null when none came. */
  claim(claimant: Claimant, waitMs: number): Promise<JobOffer | null>;
  /** How many offers wait and how many runners are polling. */
  stats(): Promise<{ offers: number; waiting: number }>;
}
