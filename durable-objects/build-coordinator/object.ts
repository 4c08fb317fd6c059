import { DurableObject } from "cloudflare:workers";
import { BUILD_FINISHED, describeTransitionError, initialBuild, initialJob, transitionBuild, transitionJob, type JobEvent } from "../../core/build/index.ts";
import type { CompleteRequest, HeartbeatResponse, Job, Lease, ReleaseRequest, StepUpdateRequest } from "../../core/contracts/runner.ts";
import { PipelineSchema, type Pipeline } from "../../core/pipeline/index.ts";
import type { Bindings } from "../../workers/env.js";
import { buildBuckets, Registry } from "../metrics/registry.js";
import { RunnerDispatcher } from "../runner-dispatcher/object.js";
import { LogSockets } from "./log-sockets.js";
import { expandPipeline, planJob } from "./plan.js";
import { BuildInit, type BuildView, type LeaseRefusal } from "./protocol.js";
import { createSchema, Store, type JobRow, type Meta } from "./store.js";
import { flushOutbox, retryDelayMs } from "./sync.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const reofferEveryMs = 30_000;
const maxJobAttempts = 3;
const timeoutGraceMs = 60_000;

/**
 * BuildCoordinator: one per build. It owns the build's state and its jobs' states (and so their
 * leases and fencing tokens), offers ready jobs to the runner pools, takes the live log, and
 * tells Postgres what happened through an outbox it retries until Postgres accepts.
 */
export class BuildCoordinator extends DurableObject<Bindings> {
  readonly store: Store;
  readonly logs: LogSockets;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.store = new Store(ctx.storage.sql);
    this.logs = new LogSockets(ctx, this.store, Number(env.LOG_LIMIT_MIB ?? 100) * 1024 * 1024);
    ctx.blockConcurrencyWhile(async () => createSchema(ctx.storage.sql));
  }

  #leaseMs(): number {
    return Number(this.env.RUNNER_LEASE_SECONDS ?? 60) * 1000;
  }

  /** Starts the build with its plan job. Idempotent: the API and the queue consumer both call it. */
  async start(input: BuildInit): Promise<void> {
    if (this.store.meta()) return;
    const init = BuildInit.parse(input);
    this.store.saveMeta({ init, state: initialBuild(), commitSha: init.repo.commitSha, pipeline: null, skipped: [], logBytes: 0, logTruncated: false, archivedKey: null });
    const plan: JobRow = { spec: planJob(init.buildId), state: initialJob(), steps: [] };
    this.store.saveJob(plan, 0);
    this.#recordJob(plan);
    await this.#offer(plan);
    this.store.setTimer("reoffer", Date.now() + reofferEveryMs);
    await this.#armAlarm();
  }

  /** A runner from a pool wants this job: the claim wins only if the job is still queued. */
  async claimJob(jobId: string, runnerId: string): Promise<Job | null> {
    const meta = this.store.meta();
    const job = this.store.job(jobId);
    if (!meta || !job || BUILD_FINISHED.has(meta.state.status)) return null;
    const now = Date.now();
    const moved = transitionJob(job.state, { type: "claim", at: now, runnerId, leaseId: crypto.randomUUID(), leaseMs: this.#leaseMs() });
    if (!moved.ok) return null;
    job.state = moved.state;
    this.store.saveJob(job);
    if (meta.state.status === "queued") {
      const started = transitionBuild(meta.state, { type: "start", at: now });
      if (started.ok) meta.state = started.state;
      this.store.saveMeta(meta);
      this.#recordBuild(meta);
    }
    this.#recordJob(job);
    this.store.setTimer(`lease:${jobId}`, job.state.leaseExpiresAt ?? now);
    // The runner enforces the job's timeout; this backstop catches a runner that heartbeats past it.
    this.store.setTimer(`timeout:${jobId}`, now + job.spec.timeoutSeconds * 1000 + timeoutGraceMs);
    await this.#withdraw(jobId);
    await this.#armAlarm();
    const repo = meta.init.repo;
    return {
      jobId,
      buildId: meta.init.buildId,
      kind: job.spec.kind,
      leaseId: job.state.leaseId ?? "",
      fencingToken: job.state.fencingToken,
      leaseExpiresAt: new Date(job.state.leaseExpiresAt ?? now).toISOString(),
      repo: { url: repo.url, branch: repo.branch, commitSha: meta.commitSha },
      steps: job.spec.steps,
      env: job.spec.env,
      secrets: [],
      artifacts: job.spec.artifacts,
      timeoutSeconds: job.spec.timeoutSeconds,
    };
  }

  /** Secret values to mask in every stored line of this build (kept until the build ends). */
  async addMasks(values: string[]): Promise<void> {
    for (const value of values) this.ctx.storage.sql.exec("insert into masks (value) values (?) on conflict do nothing", value);
    this.logs.forgetMasks();
  }

  /** Which project a held job belongs to, for calls the API completes itself (artifacts, pipeline). */
  async checkLease(jobId: string, lease: Lease): Promise<{ projectId: string; workspaceId: string } | LeaseRefusal> {
    const job = this.#held(jobId, lease);
    if ("refused" in job) return job;
    const meta = this.store.meta();
    if (!meta) return { refused: "not_found", detail: "No such build." };
    return { projectId: meta.init.projectId, workspaceId: meta.init.workspaceId };
  }

  async heartbeat(jobId: string, lease: Lease): Promise<HeartbeatResponse | LeaseRefusal> {
    const job = this.#held(jobId, lease);
    if ("refused" in job) return job;
    const refused = this.#apply(job, { type: "heartbeat", at: Date.now(), fencingToken: lease.fencingToken, leaseMs: this.#leaseMs() });
    if (refused) return refused;
    this.#startIfClaimed(job, lease);
    this.store.saveJob(job);
    this.store.setTimer(`lease:${jobId}`, job.state.leaseExpiresAt ?? Date.now());
    await this.#armAlarm();
    return { leaseExpiresAt: new Date(job.state.leaseExpiresAt ?? Date.now()).toISOString(), cancel: job.state.cancelRequested };
  }

  async stepUpdate(jobId: string, stepId: string, update: StepUpdateRequest): Promise<LeaseRefusal | null> {
    const job = this.#held(jobId, update);
    if ("refused" in job) return job;
    this.#startIfClaimed(job, update);
    const report = { id: stepId, status: update.status, exitCode: update.exitCode, startedAt: update.startedAt, finishedAt: update.finishedAt };
    const index = job.steps.findIndex((s) => s.id === stepId);
    if (index >= 0) job.steps[index] = report;
    else job.steps.push(report);
    this.store.saveJob(job);
    this.#recordJob(job);
    await this.#armAlarm();
    return null;
  }

  /** The plan job's result: the pipeline this build runs (jobs start once the plan job completes). */
  async uploadPipeline(jobId: string, lease: Lease, pipeline: Pipeline, commitSha: string | null): Promise<LeaseRefusal | null> {
    const job = this.#held(jobId, lease);
    if ("refused" in job) return job;
    if (job.spec.kind !== "plan") return { refused: "illegal", detail: "Only a build's plan job uploads its pipeline." };
    const meta = this.store.meta();
    if (!meta) return { refused: "not_found", detail: "No such build." };
    if (!meta.commitSha && !commitSha) return { refused: "illegal", detail: "The plan job must report the commit it planned (commitSha)." };
    meta.pipeline = PipelineSchema.parse(pipeline);
    if (commitSha) meta.commitSha = commitSha;
    this.store.saveMeta(meta);
    this.#startIfClaimed(job, lease);
    this.store.saveJob(job);
    return null;
  }

  async complete(jobId: string, result: CompleteRequest): Promise<LeaseRefusal | null> {
    const job = this.#held(jobId, result);
    if ("refused" in job) return job;
    const refused = this.#apply(job, { type: "complete", at: Date.now(), fencingToken: result.fencingToken, status: result.status, exitCode: result.exitCode });
    if (refused) return refused;
    job.steps = result.steps;
    this.store.saveJob(job);
    this.#recordJob(job);
    this.store.clearTimer(`lease:${jobId}`);
    this.store.clearTimer(`timeout:${jobId}`);
    await this.#advance(result.error ?? null);
    return null;
  }

  async release(jobId: string, request: ReleaseRequest): Promise<LeaseRefusal | null> {
    const job = this.#held(jobId, request);
    if ("refused" in job) return job;
    const refused = this.#apply(job, { type: "release", at: Date.now(), fencingToken: request.fencingToken });
    if (refused) return refused;
    this.store.saveJob(job);
    this.#recordJob(job);
    this.store.clearTimer(`lease:${jobId}`);
    if (job.state.status === "queued") await this.#offer(job);
    await this.#advance(null);
    return null;
  }

  /** Cancels the build: queued jobs end at once, running ones are told through heartbeat and socket. */
  async cancel(): Promise<BuildView | null> {
    const meta = this.store.meta();
    if (!meta || BUILD_FINISHED.has(meta.state.status)) return this.view();
    const now = Date.now();
    for (const job of this.store.jobs()) {
      const moved = transitionJob(job.state, { type: "cancel", at: now });
      if (!moved.ok) continue;
      job.state = moved.state;
      this.store.saveJob(job);
      this.#recordJob(job);
      if (job.state.status === "cancelled") await this.#withdraw(job.spec.id);
      else this.logs.pushCancel(job.spec.id);
    }
    const cancelled = transitionBuild(meta.state, { type: "cancel", at: now });
    if (cancelled.ok) await this.#finish(meta, cancelled.state, null);
    return this.view();
  }

  /**
   * Re-runs a finished build's failed, cancelled and timed-out jobs (and so their dependents) as
   * a new attempt; jobs that succeeded keep their results. Null when the build cannot be retried.
   */
  async retry(): Promise<BuildView | null> {
    const meta = this.store.meta();
    if (!meta) return null;
    const now = Date.now();
    const moved = transitionBuild(meta.state, { type: "retry", at: now });
    if (!moved.ok) return null;
    meta.state = moved.state;
    this.store.saveMeta(meta);
    for (const job of this.store.jobs()) {
      if (meta.skipped.includes(job.spec.id) || job.state.status === "succeeded") continue;
      // The fencing token carries over, so the next claim's token is larger than any old runner's.
      job.state = { ...initialJob(), attempt: job.state.attempt, fencingToken: job.state.fencingToken };
      job.steps = [];
      this.store.saveJob(job);
      this.#recordJob(job);
    }
    this.#recordBuild(meta);
    this.store.setTimer("reoffer", now + reofferEveryMs);
    await this.#advance(null);
    return this.view();
  }

  async view(): Promise<BuildView | null> {
    const meta = this.store.meta();
    if (!meta) return null;
    return {
      id: meta.init.buildId,
      status: meta.state.status,
      attempt: meta.state.attempt,
      commitSha: meta.commitSha,
      startedAt: iso(meta.state.startedAt),
      completedAt: iso(meta.state.finishedAt),
      jobs: this.store.jobs().map((j) => ({
        id: j.spec.id,
        name: j.spec.name,
        kind: j.spec.kind,
        status: j.state.status,
        exitCode: j.state.exitCode,
        attempt: j.state.attempt,
        startedAt: iso(j.state.startedAt),
        completedAt: iso(j.state.finishedAt),
        steps: j.steps.map((s) => ({ ...s, name: j.spec.steps.find((d) => d.id === s.id)?.name ?? s.id })),
      })),
    };
  }

  override async fetch(request: Request): Promise<Response> {
    return this.logs.handle(request);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.logs.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.logs.closed(ws, code);
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const name of this.store.dueTimers(now)) {
      this.store.clearTimer(name);
      const [kind, jobId] = name.split(/:(.*)/s);
      if (kind === "lease" && jobId) await this.#leaseExpired(jobId, now);
      if (kind === "reoffer") await this.#reoffer();
      if (kind === "timeout" && jobId) await this.#timedOut(jobId, now);
    }
    if (!(await flushOutbox(this.store, this.env))) {
      const attempts = this.store.outbox()[0]?.attempts ?? 1;
      this.store.setTimer("sync", now + retryDelayMs(attempts));
    }
    await this.#armAlarm();
  }

  // --- internals -------------------------------------------------------------------------

  #held(jobId: string, lease: Lease): JobRow | LeaseRefusal {
    const job = this.store.job(jobId);
    if (!job) return { refused: "not_found", detail: `No job ${jobId} in this build.` };
    if (job.state.leaseId !== lease.leaseId || job.state.fencingToken !== lease.fencingToken || (job.state.status !== "claimed" && job.state.status !== "running")) {
      return { refused: "lease_lost", detail: `This runner no longer holds job ${jobId} (fencing token ${lease.fencingToken}, current ${job.state.fencingToken}).` };
    }
    return job;
  }

  #apply(job: JobRow, event: JobEvent): LeaseRefusal | null {
    const moved = transitionJob(job.state, event);
    if (moved.ok) {
      job.state = moved.state;
      return null;
    }
    return { refused: moved.error.code === "stale_fencing_token" ? "lease_lost" : "illegal", detail: describeTransitionError(moved.error) };
  }

  #startIfClaimed(job: JobRow, lease: Lease): void {
    if (job.state.status !== "claimed") return;
    if (!this.#apply(job, { type: "start", at: Date.now(), fencingToken: lease.fencingToken })) this.#recordJob(job);
  }

  async #leaseExpired(jobId: string, now: number): Promise<void> {
    const job = this.store.job(jobId);
    if (!job) return;
    const moved = transitionJob(job.state, { type: "lease_expired", at: now, maxAttempts: maxJobAttempts });
    if (!moved.ok) {
      if (moved.error.code === "lease_not_expired") this.store.setTimer(`lease:${jobId}`, moved.error.leaseExpiresAt);
      return;
    }
    job.state = moved.state;
    this.store.saveJob(job);
    this.#recordJob(job);
    this.logs.dropRunner(jobId);
    if (job.state.status === "queued") await this.#offer(job);
    await this.#advance(null);
  }

  async #timedOut(jobId: string, now: number): Promise<void> {
    const job = this.store.job(jobId);
    if (!job) return;
    const moved = transitionJob(job.state, { type: "time_out", at: now });
    if (!moved.ok) return; // finished (or requeued) meanwhile
    job.state = moved.state;
    this.store.saveJob(job);
    this.#recordJob(job);
    this.store.clearTimer(`lease:${jobId}`);
    this.logs.pushCancel(jobId);
    this.logs.dropRunner(jobId);
    await this.#advance(`Job ${job.spec.name} ran past its ${job.spec.timeoutSeconds} s timeout.`);
  }

  /** After a job ends: expand the plan, cancel what can no longer run, offer what can, finish. */
  async #advance(error: string | null): Promise<void> {
    const meta = this.store.meta();
    if (!meta || BUILD_FINISHED.has(meta.state.status)) return;
    let jobs = this.store.jobs();
    const plan = jobs.find((j) => j.spec.kind === "plan");
    if (plan?.state.status === "succeeded" && jobs.length === 1) {
      if (!meta.pipeline) return this.#finish(meta, null, "The plan step succeeded but uploaded no pipeline.");
      const { jobs: specs, skipped } = expandPipeline(meta.init.buildId, meta.pipeline, meta.init.repo.branch);
      meta.skipped = skipped;
      this.store.saveMeta(meta);
      specs.forEach((spec, i) => {
        const row: JobRow = { spec, state: initialJob(), steps: [] };
        if (skipped.includes(spec.id)) row.state = { ...row.state, status: "cancelled", finishedAt: Date.now() };
        this.store.saveJob(row, i + 1);
        this.#recordJob(row);
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
        this.#recordJob(job);
        await this.#withdraw(job.spec.id);
      } else if (needs.every((s) => s === "succeeded")) {
        await this.#offer(job);
      }
    }
    const finished = (s: string) => s === "succeeded" || s === "failed" || s === "cancelled" || s === "timed_out";
    if (!jobs.every((j) => finished(j.state.status))) return this.#armAlarm();
    const ran = jobs.filter((j) => !meta.skipped.includes(j.spec.id));
    const outcome = ran.every((j) => j.state.status === "succeeded") ? "succeeded" : "failed";
    const done = transitionBuild(meta.state, { type: "finish", at: Date.now(), outcome });
    await this.#finish(meta, done.ok ? done.state : null, outcome === "failed" ? (error ?? this.#firstFailure(ran)) : null);
  }

  #firstFailure(jobs: JobRow[]): string | null {
    const failed = jobs.find((j) => j.state.status !== "succeeded");
    if (!failed) return null;
    if (failed.state.reason === "lease_lost") return `Job ${failed.spec.name} lost its runner ${maxJobAttempts} times.`;
    return `Job ${failed.spec.name} ended ${failed.state.status}${failed.state.exitCode !== null ? ` with exit code ${failed.state.exitCode}` : ""}.`;
  }

  async #finish(meta: Meta, state: Meta["state"] | null, error: string | null): Promise<void> {
    if (state) meta.state = state;
    else {
      const failed = transitionBuild(meta.state, meta.state.status === "queued" ? { type: "time_out", at: Date.now() } : { type: "finish", at: Date.now(), outcome: "failed" });
      if (failed.ok) meta.state = failed.state;
    }
    meta.archivedKey = await this.logs.archive(this.env.ARTIFACTS, meta);
    // The log is archived (masked); the values are no longer needed here.
    this.ctx.storage.sql.exec("delete from masks");
    this.logs.forgetMasks();
    this.store.saveMeta(meta);
    this.#recordBuild(meta, error);
    this.store.clearTimer("reoffer");
    this.logs.broadcastStatus(meta.state.status);
    await this.#recordMetrics(meta);
    await this.env.EVENTS.send({
      type: "build.completed",
      buildId: meta.init.buildId,
      projectId: meta.init.projectId,
      status: meta.state.status as "succeeded" | "failed" | "cancelled" | "timed_out",
      correlationId: meta.init.buildId,
      occurredAt: new Date().toISOString(),
    }).catch(() => undefined);
    await this.#armAlarm();
  }

  async #recordMetrics(meta: Meta): Promise<void> {
    const registry = new Registry();
    const labels = { project: meta.init.projectId, framework: meta.init.framework ?? "unknown" };
    registry.inc("sparki_builds_finished_total", { status: meta.state.status });
    if (meta.state.status === "succeeded") registry.inc("sparki_build_success_total", labels);
    if (meta.state.startedAt !== null && meta.state.finishedAt !== null) {
      registry.observe("sparki_build_duration_seconds", labels, (meta.state.finishedAt - meta.state.startedAt) / 1000, buildBuckets);
    }
    // Metrics must never fail a build: a lost sample is better than a stuck coordinator.
    await this.env.METRICS.get(this.env.METRICS.idFromName("global")).record(registry.drain()).catch(() => undefined);
  }

  async #reoffer(): Promise<void> {
    const jobs = this.store.jobs();
    const byId = new Map(jobs.map((j) => [j.spec.id, j]));
    let queued = false;
    for (const job of jobs) {
      if (job.state.status !== "queued") continue;
      queued = true;
      if (job.spec.needs.every((id) => byId.get(id)?.state.status === "succeeded")) await this.#offer(job);
    }
    if (queued) this.store.setTimer("reoffer", Date.now() + reofferEveryMs);
  }

  #pools(): DurableObjectStub<RunnerDispatcher>[] {
    const meta = this.store.meta();
    return (meta?.init.pools ?? []).map((pool) => this.env.RUNNER_DISPATCHER.get(this.env.RUNNER_DISPATCHER.idFromName(pool)));
  }

  async #offer(job: JobRow): Promise<void> {
    const meta = this.store.meta();
    if (!meta) return;
    await Promise.all(this.#pools().map((pool) => pool.offer({ jobId: job.spec.id, buildId: meta.init.buildId, labels: job.spec.labels })));
  }

  async #withdraw(jobId: string): Promise<void> {
    await Promise.all(this.#pools().map((pool) => pool.withdraw(jobId)));
  }

  #recordBuild(meta: Meta, error: string | null = null): void {
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

  #recordJob(job: JobRow): void {
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

  async #armAlarm(): Promise<void> {
    const next = this.store.nextTimer();
    if (next !== undefined) await this.ctx.storage.setAlarm(Math.max(next, Date.now() + 1));
  }
}
