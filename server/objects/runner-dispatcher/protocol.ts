import { z } from "zod";
import { RunnerLabel, RunnerLimits } from "../../../core/contracts/runner.ts";
import { MAX_RUNTIME_LABELS } from "../../../core/runtimes/labels.ts";
import { Traceparent } from "../../../core/tracing/context.ts";

/** A job's labels: its pipeline's `runsOn`, and the label of the runtime it needs. */
const OfferLabels = z.array(RunnerLabel).max(RunnerLimits.labels + 1);
/** A runner's labels: those it registered with, and the runtimes its claim reported. */
const ClaimantLabels = z.array(RunnerLabel).max(RunnerLimits.labels + MAX_RUNTIME_LABELS);

/** A ready job, offered to a pool until one of its runners claims it. */
export const JobOffer = z.object({
  jobId: z.string().min(1).max(128),
  buildId: z.uuid(),
  /** Labels a runner must all carry to take the job (the pipeline's `runsOn`, and its runtime's label). */
  labels: OfferLabels,
  /**
   * The build's workspace: the shared pool holds every workspace's offers, and a workspace may
   * see only its own in the queue (GET /v1/workspaces/:id/runner-queue). Optional for offers
   * made before it was recorded; the coordinator's re-offer fills it in.
   */
  workspaceId: z.uuid().optional(),
  /**
   * The build's trace: the pool's span of the job's wait goes under it. Absent for a build with
   * no trace and for offers made before it was recorded (the coordinator's re-offer fills it in).
   */
  traceparent: Traceparent.optional(),
});
export type JobOffer = z.infer<typeof JobOffer>;

/** The offers waiting in a pool for one set of labels (sorted), oldest first by `oldestAt`. */
export const QueuedLabels = z.object({ labels: OfferLabels, jobs: z.number().int().nonnegative(), oldestAt: z.number() });
export type QueuedLabels = z.infer<typeof QueuedLabels>;

/** Runners of a pool that could take a job with some labels: seen lately, and polling right now. */
export const LabelPresence = z.object({ online: z.number().int().nonnegative(), idle: z.number().int().nonnegative() });
export type LabelPresence = z.infer<typeof LabelPresence>;

/**
 * How long after its last claim or heartbeat a runner still counts as online. A polling runner
 * asks again at least every {@link maxClaimWaitMs}; a busy one heartbeats three times a lease.
 */
export function onlineWindowMs(leaseSeconds: number): number {
  return Math.max(90_000, 2 * leaseSeconds * 1000);
}

/** The gauge the dispatchers keep on /metrics: jobs waiting, by pool and sorted-joined labels. */
export const jobsWaitingGauge = "sparki_jobs_waiting";
/**
 * Runners online (claimed or heartbeated within {@link onlineWindowMs}) that fit a label set jobs
 * wait for, by pool and the same `labels` values as {@link jobsWaitingGauge} (so no more series):
 * a waiting label set with no series here has no runner that could take it.
 */
export const runnersOnlineGauge = "sparki_runners_online";
/** Seconds from a job's offer to a pool until the pool handed it to a runner, by pool. */
export const queueWaitHistogram = "sparki_queue_wait_seconds";
/** Queue waits: 1 s to 1 h. */
export const queueWaitBuckets = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600] as const;
/** Label sets a pool shows one by one; the rest are summed under {@link otherLabels} (bounded series). */
export const maxGaugeLabelSets = 20;
export const otherLabels = "(other)";
/** A label set as the gauge's `labels` value: sorted and comma-joined ("" for none). */
export const gaugeLabels = (labels: readonly string[]) => [...labels].sort().join(",");
export const Claimant = z.object({ runnerId: z.uuid(), labels: ClaimantLabels });
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
  /** The runner stopped claiming: its waiting claims end empty and it no longer counts as online. */
  disconnect(runnerId: string): Promise<void>;
  /** How many offers wait and how many runners are polling. */
  stats(): Promise<{ offers: number; waiting: number }>;
  /** Offers waiting by label set; only one workspace's when given (the shared pool holds all). */
  waitingJobs(workspaceId?: string): Promise<QueuedLabels[]>;
  /** For each label set, this pool's runners that fit it: online within `windowMs`, and idle (polling) now. */
  presence(labelSets: string[][], windowMs: number): Promise<LabelPresence[]>;
  /** A runner of this pool is alive (its heartbeat): it stays online while a long job runs. */
  seen(runnerId: string): Promise<void>;
  /** Every label of this pool's runners online within `windowMs` (registered and runtimes), sorted. */
  labelsOnline(windowMs: number): Promise<string[]>;
}
