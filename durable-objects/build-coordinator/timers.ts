/**
 * What the coordinator's one alarm does with its due job timers: a lease that ran out takes the
 * job from its runner (queued again, or failed after too many tries), a timeout ends it, a
 * reoffer offers waiting jobs to the pools again. Apart from the object so the alarm can ask,
 * before running them, whether any takes a job from its runner (what its span is for), and say
 * afterwards what they did.
 */
import type { Attributes } from "@opentelemetry/api";
import { transitionJob } from "../../core/build/index.ts";
import type { Logger } from "../../core/logging/logger.js";
import { maxJobAttempts, type Progress } from "./progress.js";
import type { Store } from "./store.js";

/** Job ids one span lists at most (a runner that dies may hold many of a build's jobs). */
const spanJobIds = 20;

export class Timers {
  constructor(
    private readonly store: Store,
    private readonly progress: Progress,
    private readonly log: () => Logger,
  ) {}

  /** Whether a due timer takes a job from its runner: a lease that really ran out, or a timeout. */
  takesJob(name: string, now: number): boolean {
    const [kind, jobId] = name.split(/:(.*)/s);
    const job = jobId ? this.store.job(jobId) : undefined;
    if (!job) return false;
    if (kind === "lease") return transitionJob(job.state, { type: "lease_expired", at: now, maxAttempts: maxJobAttempts }).ok;
    return kind === "timeout" && transitionJob(job.state, { type: "time_out", at: now }).ok;
  }

  /** Runs the due timers (a sync's is only cleared: the alarm flushes the outbox next); what they did to jobs, as span attributes. */
  async run(due: string[], now: number): Promise<Attributes> {
    const lost: string[] = [];
    const timedOut: string[] = [];
    let requeued = 0;
    for (const name of due) {
      this.store.clearTimer(name);
      const [kind, jobId] = name.split(/:(.*)/s);
      if (kind === "lease" && jobId) {
        const after = await this.leaseExpired(jobId, now);
        if (after) lost.push(jobId);
        if (after === "queued") requeued++;
      }
      if (kind === "reoffer") await this.progress.reoffer();
      if (kind === "timeout" && jobId && (await this.timedOut(jobId, now))) timedOut.push(jobId);
    }
    return {
      "sparki.leases_expired": lost.length,
      "sparki.jobs_requeued": requeued,
      "sparki.jobs_timed_out": timedOut.length,
      "sparki.job_ids": [...lost, ...timedOut].slice(0, spanJobIds),
      "sparki.build_status": this.store.meta()?.state.status,
    };
  }

  /**
   * A lease timer came due: logged when it really took the job from its runner (not renewed
   * meanwhile). Returns the job's status then (queued again, or failed after too many tries).
   */
  private async leaseExpired(jobId: string, now: number): Promise<string | null> {
    const held = this.store.job(jobId)?.state;
    await this.progress.leaseExpired(jobId, now);
    const after = this.store.job(jobId)?.state;
    if (!held || !after || after.status === held.status) return null;
    this.log().warn(`job ${jobId} lost its lease (no heartbeat): ${after.status}`, {
      job_id: jobId,
      runner_id: held.runnerId ?? null,
      status: after.status,
    });
    return after.status;
  }

  /** A job's timeout backstop came due: true when it ended the job (not finished or requeued meanwhile). */
  private async timedOut(jobId: string, now: number): Promise<boolean> {
    this.log().warn(`job ${jobId} ran past its timeout`, { job_id: jobId });
    const was = this.store.job(jobId)?.state.status;
    await this.progress.timedOut(jobId, now);
    return was !== "timed_out" && this.store.job(jobId)?.state.status === "timed_out";
  }
}
