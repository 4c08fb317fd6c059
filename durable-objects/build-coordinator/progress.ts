/**
 * What moves a build forward once something happened to it: expanding the uploaded pipeline,
 * offering ready jobs to the runner pools, cancelling jobs that can no longer run, finishing the
 * build (archive, Postgres outbox, metrics, `build.completed`), and arming the one alarm.
 */
import { BUILD_FINISHED, initialJob, transitionBuild, transitionJob } from "../../core/build/index.ts";
import type { Bindings } from "../../server/config.js";
import { buildBuckets, Registry } from "../../server/metrics/registry.js";
import { frameworkLabel } from "../../server/metrics/labels.js";
import type { LogLines } from "./log-lines.js";
import type { LogSockets } from "./log-sockets.js";
import { expandPipeline } from "./plan.js";
import type { JobRow, Meta, Store } from "./store.js";
import { metricsObject, runnerDispatcher } from "../../server/objects/clients.js";
import { onlineWindowMs } from "../../server/objects/runner-dispatcher/protocol.js";
import { configOf } from "../../server/config.js";
import { missingRuntime } from "./runtimes.js";

export const reofferEveryMs = 30_000;
export const maxJobAttempts = 3;

export class Progress {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Bindings,
    private readonly store: Store,
    private readonly lines: LogLines,
    private readonly logs: LogSockets,
  ) {}

  /** After a job ends: expand the plan, cancel what can no longer run, offer what can, finish. */
  async advance(error: string | null): Promise<void> {
    const meta = this.store.meta();
    if (!meta || BUILD_FINISHED.has(meta.state.status)) return;
    let jobs = this.store.jobs();
    const plan = jobs.find((j) => j.spec.kind === "plan");
    if (plan?.state.status === "succeeded" && jobs.length === 1) {
      if (!meta.pipeline) return this.finish(meta, null, "The plan step succeeded but uploaded no pipeline.");
      const { jobs: specs, skipped } = expandPipeline(meta.init.buildId, meta.pipeline, meta.init.repo.tag ? null : meta.init.repo.branch, {
        deployJobs: meta.init.pipeline !== undefined,
      });
      // A plan of no jobs is a mistake to show, not a green build (runners from before they
      // failed such plans themselves, with the detector's reason, still upload them).
      if (specs.length === 0) return this.finish(meta, null, "The plan found nothing to run: the pipeline has no jobs.");
      // A runtime no runner online has: say so now rather than queue jobs nothing will take.
      const window = onlineWindowMs(configOf(this.env).RUNNER_LEASE_SECONDS);
      const missing = await missingRuntime(
        specs.filter((s) => !skipped.includes(s.id)),
        this.pools(),
        window,
      );
      if (missing) return this.finish(meta, null, missing);
      meta.skipped = skipped;
      this.store.saveMeta(meta);
      specs.forEach((spec, i) => {
        const row: JobRow = { spec, state: initialJob(), steps: [] };
        if (skipped.includes(spec.id)) row.state = { ...row.state, status: "cancelled", finishedAt: Date.now() };
        this.store.saveJob(row, i + 1);
        this.recordJob(row);
      });
      jobs = this.store.jobs();
    }
    const byId = new Map(jobs.map((j) => [j.spec.id, j]));
    for (const job of jobs) {
      if (job.state.status !== "queued") continue;
      const needs = job.spec.needs.map((id) => byId.get(id)?.state.status);
      if (needs.some((s) => s !== undefined && BUILD_FINISHED.has(s as never) && s !== "succeeded")) {
        job.state = { ...job.state, status: "cancelled", finishedAt: Date.now() };
        this.store.saveJob(job);
        this.recordJob(job);
        await this.withdraw(job.spec.id);
      } else if (needs.every((s) => s === "succeeded")) {
        await this.offer(job);
      }
    }
    const finished = (s: string) => s === "succeeded" || s === "failed" || s === "cancelled" || s === "timed_out";
    if (!jobs.every((j) => finished(j.state.status))) return this.armAlarm();
    const ran = jobs.filter((j) => !meta.skipped.includes(j.spec.id));
    const outcome = ran.every((j) => j.state.status === "succeeded") ? "succeeded" : "failed";
    const done = transitionBuild(meta.state, { type: "finish", at: Date.now(), outcome });
    await this.finish(meta, done.ok ? done.state : null, outcome === "failed" ? (error ?? this.firstFailure(ran)) : null);
  }

  firstFailure(jobs: JobRow[]): string | null {
    const failed = jobs.find((j) => j.state.status !== "succeeded");
    if (!failed) return null;
    if (failed.state.reason === "lease_lost") return `Job ${failed.spec.name} lost its runner ${maxJobAttempts} times.`;
    return `Job ${failed.spec.name} ended ${failed.state.status}${failed.state.exitCode !== null ? ` with exit code ${failed.state.exitCode}` : ""}.`;
  }

  async finish(meta: Meta, state: Meta["state"] | null, error: string | null): Promise<void> {
    if (state) meta.state = state;
    else {
      const failed = transitionBuild(
        meta.state,
        meta.state.status === "queued" ? { type: "time_out", at: Date.now() } : { type: "finish", at: Date.now(), outcome: "failed" },
      );
      if (failed.ok) meta.state = failed.state;
    }
    meta.error = error;
    await this.lines.archive(this.env.ARTIFACTS, meta);
    // The log is archived (masked); the values are no longer needed here.
    this.ctx.storage.sql.exec("delete from masks");
    this.lines.forgetMasks();
    this.store.saveMeta(meta);
    this.recordBuild(meta, error);
    this.store.clearTimer("reoffer");
    this.logs.broadcastStatus(meta.state.status);
    await this.recordMetrics(meta);
    // Through the outbox, after the build's row: the consumer reads the final status from Postgres.
    this.store.enqueue("event", meta.init.buildId, {
      type: "build.completed",
      buildId: meta.init.buildId,
      projectId: meta.init.projectId,
      status: meta.state.status as "succeeded" | "failed" | "cancelled" | "timed_out",
      correlationId: meta.init.buildId,
      occurredAt: new Date().toISOString(),
      ...(meta.init.traceparent ? { traceparent: meta.init.traceparent } : {}),
    });
    await this.armAlarm();
  }

  async recordMetrics(meta: Meta): Promise<void> {
    const registry = new Registry();
    // No project label, and the framework only as one of the detector's: a label a tenant can
    // fill with any value would grow the series without bound (issue 16).
    const labels = { framework: frameworkLabel(meta.init.framework) };
    registry.inc("sparki_builds_finished_total", { status: meta.state.status });
    if (meta.state.status === "succeeded") registry.inc("sparki_build_success_total", labels);
    if (meta.state.startedAt !== null && meta.state.finishedAt !== null) {
      registry.observe("sparki_build_duration_seconds", labels, (meta.state.finishedAt - meta.state.startedAt) / 1000, buildBuckets);
    }
    // Metrics must never fail a build: a lost sample is better than a stuck coordinator.
    await metricsObject(this.env)
      .record(registry.drain())
      .catch(() => undefined);
  }

  async reoffer(): Promise<void> {
    const jobs = this.store.jobs();
    const byId = new Map(jobs.map((j) => [j.spec.id, j]));
    let queued = false;
    for (const job of jobs) {
      if (job.state.status !== "queued") continue;
      queued = true;
      if (job.spec.needs.every((id) => byId.get(id)?.state.status === "succeeded")) await this.offer(job);
    }
    if (queued) this.store.setTimer("reoffer", Date.now() + reofferEveryMs);
  }

  pools(): ReturnType<typeof runnerDispatcher>[] {
    const meta = this.store.meta();
    return (meta?.init.pools ?? []).map((pool) => runnerDispatcher(this.env, pool));
  }

  async offer(job: JobRow): Promise<void> {
    const meta = this.store.meta();
    if (!meta) return;
    await Promise.all(
      this.pools().map((pool) =>
        pool.offer({
          jobId: job.spec.id,
          buildId: meta.init.buildId,
          labels: job.spec.labels,
          workspaceId: meta.init.workspaceId,
          // The pool's span of the job's wait joins the build's trace, beside this object's spans.
          ...(meta.init.traceparent ? { traceparent: meta.init.traceparent } : {}),
        }),
      ),
    );
  }

  async withdraw(jobId: string): Promise<void> {
    await Promise.all(this.pools().map((pool) => pool.withdraw(jobId)));
  }

  recordBuild(meta: Meta, error: string | null = meta.error ?? null): void {
    this.store.enqueue("build", meta.init.buildId, {
      id: meta.init.buildId,
      status: meta.state.status,
      attempt: meta.state.attempt,
      commitSha: meta.commitSha,
      error,
      startedAt: meta.state.startedAt,
      completedAt: meta.state.finishedAt,
    });
    this.store.setTimer("sync", Date.now());
  }

  recordJob(job: JobRow): void {
    const meta = this.store.meta();
    if (!meta) return;
    this.store.enqueue("job", job.spec.id, {
      id: job.spec.id,
      buildId: meta.init.buildId,
      key: job.spec.key,
      name: job.spec.name,
      kind: job.spec.kind,
      status: job.state.status,
      exitCode: job.state.exitCode,
      runnerId: job.state.runnerId,
      attempt: job.state.attempt,
      steps: job.steps,
      startedAt: job.state.startedAt,
      completedAt: job.state.finishedAt,
    });
    this.store.setTimer("sync", Date.now());
  }

  /** A job's lease timer came due: requeued (or failed after too many tries) unless renewed meanwhile. */
  async leaseExpired(jobId: string, now: number): Promise<void> {
    const job = this.store.job(jobId);
    if (!job) return;
    const moved = transitionJob(job.state, { type: "lease_expired", at: now, maxAttempts: maxJobAttempts });
    if (!moved.ok) {
      if (moved.error.code === "lease_not_expired") this.store.setTimer(`lease:${jobId}`, moved.error.leaseExpiresAt);
      return;
    }
    job.state = moved.state;
    this.store.saveJob(job);
    this.recordJob(job);
    this.logs.dropRunner(jobId);
    if (job.state.status === "queued") await this.offer(job);
    await this.advance(null);
  }

  /** A job's timeout backstop came due: the job ends timed out and its runner is told and dropped. */
  async timedOut(jobId: string, now: number): Promise<void> {
    const job = this.store.job(jobId);
    if (!job) return;
    const moved = transitionJob(job.state, { type: "time_out", at: now });
    if (!moved.ok) return; // finished (or requeued) meanwhile
    job.state = moved.state;
    this.store.saveJob(job);
    this.recordJob(job);
    this.store.clearTimer(`lease:${jobId}`);
    this.logs.pushCancel(jobId);
    this.logs.dropRunner(jobId);
    await this.advance(`Job ${job.spec.name} ran past its ${job.spec.timeoutSeconds} s timeout.`);
  }

  async armAlarm(): Promise<void> {
    const next = this.store.nextTimer();
    if (next !== undefined) await this.ctx.storage.setAlarm(Math.max(next, Date.now() + 1));
  }
}
