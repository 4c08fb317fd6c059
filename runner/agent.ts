/**
 * The agent behind `sparki-runner run`: a claim loop feeding up to `concurrency` jobs, and
 * the shutdown rule. On SIGTERM the agent stops claiming, lets running jobs finish for up to
 * `graceMs`, then kills what is left and hands those jobs back so another runner takes them.
 */
import type { Job } from "../core/contracts/runner.ts";
import type { BackoffOptions } from "./backoff.ts";
import { claimLoop } from "./claim.ts";
import type { ControlPlaneClient } from "./client.ts";
import { runJob, type JobEnd } from "./job.ts";
import type { Sandbox } from "../node/sandbox.ts";
import type { Say } from "./log-output.ts";
import { traceIdOf, type Tracing } from "../core/tracing/context.ts";
import { runtimeLabels, type RuntimeInstall } from "./runtimes.ts";
import { join } from "node:path";
import { pruneMirrors } from "./mirror.ts";
import { Workspaces } from "./workspace.ts";

/** A mirror no job has used for this long is removed when the runner starts. */
const MIRROR_IDLE_MS = 14 * 24 * 3600 * 1000;

export interface AgentOptions {
  client: ControlPlaneClient;
  /** The labels it registered with, for the start line; undefined when only the server knows them. */
  labels: string[] | undefined;
  concurrency: number;
  /**
   * Stop claiming after this many jobs (`run --ephemeral`: 1), then finish them and return, so
   * an autoscaler's pod or VM serves one job and goes away. Unlimited when absent.
   */
  maxJobs?: number;
  workDir: string;
  /** How long running jobs may take to finish after a shutdown request. */
  graceMs: number;
  say: Say;
  backoff?: BackoffOptions;
  killGraceMs?: number;
  logDrainMs?: number;
  /** Run every step under bwrap (node/sandbox.ts); absent: steps run as plain `sh`. */
  sandbox?: Sandbox;
  /** Spans for each job and step (runner/tracing.ts); absent: none. */
  tracing?: Tracing;
  /** The runtimes found at start (runner/runtimes.ts): reported with each claim, picked by each job. */
  runtimes?: readonly RuntimeInstall[];
  /**
   * Build folders kept after a job for the build's next jobs (runner/workspace.ts), beside the
   * ones in use; 0: every job gets a fresh folder. Default 2.
   */
  keepBuilds?: number;
}

/** A running agent. */
export class Agent {
  private readonly stopClaiming = new AbortController();
  private readonly handBack = new AbortController();
  private readonly running = new Map<string, Promise<JobEnd>>();
  /** Spans being sent after a job: never on the way to the next claim, always before the runner exits. */
  private readonly exports = new Set<Promise<void>>();
  private slotWaiters: (() => void)[] = [];
  private shutdownTimer: NodeJS.Timeout | null = null;
  private claimed = 0;
  private shuttingDown = false;
  private readonly workspaces: Workspaces | undefined;
  /** Results of the jobs this agent ran, by job id (tests and the final summary). */
  readonly ended = new Map<string, JobEnd>();

  constructor(private readonly options: AgentOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError("concurrency must be a positive integer");
    if (options.maxJobs !== undefined && (!Number.isInteger(options.maxJobs) || options.maxJobs < 1))
      throw new RangeError("maxJobs must be a positive integer");
    const keep = options.keepBuilds ?? 2;
    this.workspaces = keep > 0 ? new Workspaces(join(options.workDir, "builds"), keep) : undefined;
  }

  /** Claims and runs jobs until {@link shutdown}; resolves when every job has ended. */
  async run(): Promise<void> {
    const { say } = this.options;
    // A killed process of this runner could not say it left: its last poll may still wait at the
    // dispatcher, and a job handed to it would wait for its lease to run out. Ended before this
    // runner counts as started; an unreachable control plane is the claim loop's to report.
    await this.options.client.disconnect().catch(() => undefined);
    say(
      `runner started: labels ${this.options.labels === undefined ? "as registered" : this.options.labels.join(",") || "(none)"}, concurrency ${this.options.concurrency}, ${this.options.sandbox ? "sandboxed" : "not sandboxed"}${this.options.maxJobs !== undefined ? `, ephemeral (${this.options.maxJobs} job${this.options.maxJobs === 1 ? "" : "s"})` : ""}`,
    );
    await pruneMirrors(join(this.options.workDir, "mirrors"), MIRROR_IDLE_MS).catch(() => undefined);
    // Folders of builds a previous run left, beyond the few kept.
    await this.workspaces?.prune().catch(() => undefined);
    try {
      await claimLoop({
        client: this.options.client,
        freeSlots: () => this.options.concurrency - this.running.size,
        slotFreed: () => new Promise((resolve) => this.slotWaiters.push(resolve)),
        onJob: (job) => this.start(job),
        signal: this.stopClaiming.signal,
        say,
        ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
        runtimes: runtimeLabels(this.options.runtimes ?? []),
      });
      // The long poll given up on the runner's side may still wait on the server's: a job handed
      // to it there would reach nobody until its lease ran out.
      await this.options.client
        .disconnect()
        .catch((err: unknown) => say(`could not tell the control plane this runner stopped claiming: ${err instanceof Error ? err.message : String(err)}`));
    } finally {
      // Also on a refused claim: jobs in hand still finish (or are handed back).
      this.stopClaiming.abort();
      await Promise.allSettled(this.running.values());
      // Whatever the last jobs left, now, then every send still going, before the process may exit.
      this.#exportSpans("now");
      await Promise.allSettled(this.exports);
      if (this.shutdownTimer) clearTimeout(this.shutdownTimer);
      say("runner stopped");
    }
  }

  private start(job: Job): void {
    this.claimed++;
    // The claim loop checks the signal before it asks again, so no further claim goes out.
    if (this.options.maxJobs !== undefined && this.claimed >= this.options.maxJobs) this.stopClaiming.abort();
    const traceId = traceIdOf(job.traceparent);
    const about = {
      job_id: job.jobId,
      build_id: job.buildId,
      ...(traceId ? { trace_id: traceId } : {}),
      ...(job.workspaceId ? { workspace_id: job.workspaceId } : {}),
    };
    this.options.say(`claimed job ${job.jobId} (build ${job.buildId}, ${job.kind === "plan" ? "plan" : `${job.steps.length} step(s)`})`, about);
    const run = runJob({
      // Every call on the job carries its own job token; the runner token only claims.
      client: this.options.client.forJob(job),
      job,
      workDir: this.options.workDir,
      say: (message) => this.options.say(message, about),
      handBack: this.handBack.signal,
      ...(this.options.backoff ? { logBackoff: this.options.backoff } : {}),
      ...(this.options.killGraceMs !== undefined ? { killGraceMs: this.options.killGraceMs } : {}),
      ...(this.options.logDrainMs !== undefined ? { logDrainMs: this.options.logDrainMs } : {}),
      ...(this.options.sandbox ? { sandbox: this.options.sandbox } : {}),
      ...(this.options.tracing ? { tracing: this.options.tracing } : {}),
      ...(this.options.runtimes ? { runtimes: this.options.runtimes } : {}),
      ...(this.workspaces ? { workspaces: this.workspaces } : {}),
      mirrors: join(this.options.workDir, "mirrors"),
    });
    this.running.set(job.jobId, run);
    void run
      .catch((err: unknown): JobEnd => {
        this.options.say(`job ${job.jobId}: runner bug: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { ...about, level: "error" });
        return { kind: "lease_lost" };
      })
      .then((end) => {
        this.ended.set(job.jobId, end);
        this.running.delete(job.jobId);
        for (const wake of this.slotWaiters.splice(0)) wake();
        this.#exportSpans("soon");
      });
  }

  /** "soon": within a second, off the path of the job claimed next (the plan's step job). */
  #exportSpans(when: "now" | "soon"): void {
    const { tracing } = this.options;
    if (!tracing?.enabled) return;
    const sent = when === "now" ? tracing.flush() : tracing.flushSoon();
    this.exports.add(sent);
    void sent.finally(() => this.exports.delete(sent));
  }

  /**
   * Stops claiming; running jobs get `graceMs` to finish, then are killed and handed back.
   * A second call (a second signal) hands them back at once.
   */
  shutdown(): void {
    // Not the claim signal: an ephemeral runner stops claiming once it has its job, and its
    // first SIGTERM must still get the grace period.
    if (this.shuttingDown) {
      this.options.say("handing back running jobs now");
      this.handBack.abort();
      return;
    }
    this.shuttingDown = true;
    this.options.say(`shutting down: ${this.running.size} job(s) running, waiting up to ${(this.options.graceMs / 1000).toFixed(0)} s`);
    this.stopClaiming.abort();
    this.shutdownTimer = setTimeout(() => {
      if (this.running.size > 0) this.options.say(`grace period over, handing back ${this.running.size} job(s)`);
      this.handBack.abort();
    }, this.options.graceMs);
  }

  /** Jobs running now. */
  get runningJobs(): number {
    return this.running.size;
  }
}
