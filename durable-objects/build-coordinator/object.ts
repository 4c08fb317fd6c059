import { DurableObject } from "cloudflare:workers";
import { BUILD_FINISHED, initialBuild, initialJob, transitionBuild, transitionJob, type BuildStatus } from "../../core/build/index.ts";
import type { CompleteRequest, HeartbeatResponse, Job, StepReport } from "../../core/contracts/runner.ts";
import { PipelineSchema, type Pipeline } from "../../core/pipeline/index.ts";
import type { Bindings } from "../../server/config.js";
import { LogLines } from "./log-lines.js";
import { LogSockets } from "./log-sockets.js";
import { Progress, reofferEveryMs } from "./progress.js";
import { Timers } from "./timers.js";
import { planJob } from "./plan.js";
import { sharedPool } from "../../server/objects/runner-dispatcher/protocol.js";
import {
  BuildInit,
  type BuildCoordinatorRpc,
  type BuildView,
  type Claimant,
  type Holder,
  type LeaseOwner,
  type LeaseRefusal,
  Superseder,
} from "../../server/objects/build-coordinator/protocol.js";
import { createSchema, Store, type JobRow } from "./store.js";
import { flushOutbox, retryDelayMs } from "./sync.js";
import { buildView, claimedJob } from "./views.js";
import { applyJobEvent, heldJob } from "./leases.js";
import { runnerDispatcher } from "../../server/objects/clients.js";
import { objectLogger } from "../../server/log.js";
import { countConnections } from "../connections.js";
import { configOf } from "../../server/config.js";
import { tracingOf } from "../../server/tracing.js";
import { inSpan, traceIdOf, tracingOff, type SpanOptions, type TraceSpan } from "../../core/tracing/context.js";
import type { Logger } from "../../core/logging/logger.js";

const timeoutGraceMs = 60_000;
/** Storage key of a supersede that came before the build's start. */
const supersededKey = "superseded-by";
const supersededReason = (by: Superseder) => `superseded by build #${by.number}`;

/**
 * BuildCoordinator: one per build. It owns the build's state and its jobs' states (and so their
 * leases and fencing tokens), offers ready jobs to the runner pools, takes the live log, and
 * tells Postgres what happened through an outbox it retries until Postgres accepts.
 */
export class BuildCoordinator extends DurableObject<Bindings> implements BuildCoordinatorRpc {
  // Private: a stub reaches only the methods of BuildCoordinatorRpc (and fetch).
  readonly #store: Store;
  readonly #lines: LogLines;
  readonly #logs: LogSockets;
  readonly #progress: Progress;
  readonly #timers: Timers;
  #logger: Logger | undefined;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.#store = new Store(ctx.storage.sql);
    this.#lines = new LogLines(ctx.storage.sql, this.#store, Number(env.LOG_LIMIT_MIB ?? 100) * 1024 * 1024);
    this.#logs = new LogSockets(ctx, this.#store, this.#lines, countConnections(env, ctx, "build-coordinator"));
    this.#progress = new Progress(ctx, env, this.#store, this.#lines, this.#logs);
    this.#timers = new Timers(this.#store, this.#progress, () => this.#log());
    ctx.blockConcurrencyWhile(async () => createSchema(ctx.storage.sql));
  }

  /** This build's lines in the operators' log (correlated by the build id, once the build has started). */
  #log(): Logger {
    if (this.#logger?.fields.correlationId) return this.#logger;
    const meta = this.#store.meta();
    this.#logger = objectLogger(this.env, "build-coordinator", meta?.init.buildId ?? null, {
      workspaceId: meta?.init.workspaceId,
      traceId: traceIdOf(meta?.init.traceparent) ?? undefined,
    });
    return this.#logger;
  }

  /**
   * Runs `work` in a span of the build's trace (under the request that triggered it), named with
   * the build's id; the span is exported after the call, without holding up its answer. A build
   * with no trace (tracing off when it started, or a deployment's script build) starts none here.
   */
  async #traced<T>(name: string, options: SpanOptions, work: (span: TraceSpan) => Promise<T>): Promise<T> {
    const meta = this.#store.meta();
    const parent = options.parent ?? meta?.init.traceparent;
    const tracing = parent ? tracingOf(configOf(this.env), "sparki-build-coordinator") : tracingOff;
    const attributes = { "sparki.build_id": meta?.init.buildId, ...options.attributes };
    try {
      return await inSpan(tracing, name, { ...options, parent, attributes }, work);
    } finally {
      // A batch a second (a flush per call put a collector request beside every claim, and one
      // more at the build's end); the timer runs inside waitUntil, so the last spans go too.
      if (tracing.enabled) this.ctx.waitUntil(tracing.flushSoon());
    }
  }

  /** Logs the build's end once, when a call or an alarm moved it from running to finished. */
  #noteEnd(before: BuildStatus | undefined): void {
    const meta = this.#store.meta();
    if (!meta || before === undefined || BUILD_FINISHED.has(before) || !BUILD_FINISHED.has(meta.state.status)) return;
    const { startedAt, finishedAt } = meta.state;
    this.#log()[meta.state.status === "succeeded" || meta.state.status === "cancelled" ? "info" : "warn"](`build ${meta.state.status}`, {
      build_id: meta.init.buildId,
      project_id: meta.init.projectId,
      status: meta.state.status,
      duration_ms: startedAt && finishedAt ? finishedAt - startedAt : null,
      error: meta.error ?? null,
    });
  }

  #leaseMs(): number {
    return Number(this.env.RUNNER_LEASE_SECONDS ?? 60) * 1000;
  }

  /** Starts the build with its plan job. Idempotent: the API and the queue consumer both call it. */
  async start(input: BuildInit): Promise<void> {
    if (this.#store.meta()) return;
    const init = BuildInit.parse(input);
    await this.#traced("build start", { parent: init.traceparent, attributes: { "sparki.build_id": init.buildId, "sparki.project_id": init.projectId } }, () =>
      this.#start(init),
    );
  }

  async #start(init: BuildInit): Promise<void> {
    this.#store.saveMeta({ init, state: initialBuild(), commitSha: init.repo.commitSha, pipeline: init.pipeline ?? null, skipped: [] });
    const plan: JobRow = { spec: planJob(init.buildId), state: initialJob(), steps: [] };
    // Superseded before it started (the newer build's trigger got here first): it ends at once.
    const early = await this.ctx.storage.get<Superseder>(supersededKey);
    if (early && (early.commitSha === null || early.commitSha !== init.repo.commitSha)) {
      this.#store.saveJob(plan, 0);
      this.#progress.recordJob(plan);
      await this.cancel(supersededReason(early));
      return;
    }
    if (init.pipeline) {
      // Planned already: the plan job is done before it starts, and advance() expands the pipeline.
      plan.state = { ...plan.state, status: "succeeded", exitCode: 0, startedAt: Date.now(), finishedAt: Date.now() };
      this.#store.saveJob(plan, 0);
      this.#progress.recordJob(plan);
      await this.#progress.advance(null);
    } else {
      this.#store.saveJob(plan, 0);
      this.#progress.recordJob(plan);
      await this.#progress.offer(plan);
    }
    this.#store.setTimer("reoffer", Date.now() + reofferEveryMs);
    await this.#progress.armAlarm();
    this.#log().info("build started", { build_id: init.buildId, project_id: init.projectId, planned: init.pipeline !== undefined && init.pipeline !== null });
  }

  /**
   * A runner from a pool wants this job: the claim wins only if the job is still queued, and
   * only for a runner of the build's own workspace or, when the build is offered to the shared
   * pool, a shared runner. The answer has no job token and no secrets: the API adds both.
   */
  async claimJob(jobId: string, claimant: Claimant): Promise<Omit<Job, "jobToken"> | null> {
    return this.#traced("job claim", { attributes: { "sparki.job_id": jobId, "sparki.runner_id": claimant.runnerId } }, async (span) => {
      const job = await this.#claimJob(jobId, claimant, span);
      span.set({ "sparki.claimed": job !== null });
      return job;
    });
  }

  async #claimJob(jobId: string, claimant: Claimant, span: TraceSpan): Promise<Omit<Job, "jobToken"> | null> {
    const meta = this.#store.meta();
    const job = this.#store.job(jobId);
    if (!meta || !job || BUILD_FINISHED.has(meta.state.status)) return null;
    const allowed = claimant.workspaceId === null ? meta.init.pools.includes(sharedPool) : claimant.workspaceId === meta.init.workspaceId;
    if (!allowed) return null;
    const now = Date.now();
    const moved = transitionJob(job.state, { type: "claim", at: now, runnerId: claimant.runnerId, leaseId: crypto.randomUUID(), leaseMs: this.#leaseMs() });
    if (!moved.ok) return null;
    job.state = moved.state;
    this.#store.saveJob(job);
    if (meta.state.status === "queued") {
      const started = transitionBuild(meta.state, { type: "start", at: now });
      if (started.ok) meta.state = started.state;
      this.#store.saveMeta(meta);
      this.#progress.recordBuild(meta);
      // Through the outbox, after the build's row, like build.completed.
      if (started.ok)
        this.#store.enqueue("event", meta.init.buildId, {
          type: "build.started",
          buildId: meta.init.buildId,
          projectId: meta.init.projectId,
          correlationId: meta.init.buildId,
          occurredAt: new Date(now).toISOString(),
          ...(meta.init.traceparent ? { traceparent: meta.init.traceparent } : {}),
        });
    }
    this.#progress.recordJob(job);
    this.#store.setTimer(`lease:${jobId}`, job.state.leaseExpiresAt ?? now);
    // The runner enforces the job's timeout; this backstop catches a runner that heartbeats past it.
    this.#store.setTimer(`timeout:${jobId}`, now + job.spec.timeoutSeconds * 1000 + timeoutGraceMs);
    await this.#progress.withdraw(jobId);
    await this.#progress.armAlarm();
    this.#log().info(`job ${jobId} claimed`, { build_id: meta.init.buildId, job_id: jobId, runner_id: claimant.runnerId, attempt: job.state.attempt });
    return claimedJob(meta, job, now, span.traceparent);
  }

  /** Secret values to mask in every stored line of this build (kept until the build ends). */
  async addMasks(values: string[]): Promise<void> {
    for (const value of values) this.ctx.storage.sql.exec("insert into masks (value) values (?) on conflict do nothing", value);
    this.#lines.forgetMasks();
  }

  /** Which project a held job belongs to, for calls the API completes itself (artifacts, pipeline). */
  async checkLease(jobId: string, holder: Holder): Promise<LeaseOwner | LeaseRefusal> {
    const job = heldJob(this.#store, jobId, holder);
    if ("refused" in job) return job;
    const meta = this.#store.meta();
    if (!meta) return { refused: "not_found", detail: "No such build." };
    return { projectId: meta.init.projectId, workspaceId: meta.init.workspaceId, needs: [...job.spec.needs] };
  }

  async heartbeat(jobId: string, lease: Holder): Promise<HeartbeatResponse | LeaseRefusal> {
    const job = heldJob(this.#store, jobId, lease);
    if ("refused" in job) return job;
    const refused = applyJobEvent(job, { type: "heartbeat", at: Date.now(), fencingToken: lease.fencingToken, leaseMs: this.#leaseMs() });
    if (refused) return refused;
    this.#startIfClaimed(job, lease);
    this.#store.saveJob(job);
    this.#store.setTimer(`lease:${jobId}`, job.state.leaseExpiresAt ?? Date.now());
    await this.#progress.armAlarm();
    return { leaseExpiresAt: new Date(job.state.leaseExpiresAt ?? Date.now()).toISOString(), cancel: job.state.cancelRequested };
  }

  async stepUpdate(jobId: string, holder: Holder, stepId: string, update: Omit<StepReport, "id">): Promise<LeaseRefusal | null> {
    const job = heldJob(this.#store, jobId, holder);
    if ("refused" in job) return job;
    this.#startIfClaimed(job, holder);
    const report = { id: stepId, status: update.status, exitCode: update.exitCode, startedAt: update.startedAt, finishedAt: update.finishedAt };
    const index = job.steps.findIndex((s) => s.id === stepId);
    if (index >= 0) job.steps[index] = report;
    else job.steps.push(report);
    this.#store.saveJob(job);
    this.#progress.recordJob(job);
    await this.#progress.armAlarm();
    return null;
  }

  /** The plan job's result: the pipeline this build runs (jobs start once the plan job completes). */
  async uploadPipeline(jobId: string, lease: Holder, pipeline: Pipeline, commitSha: string | null): Promise<LeaseRefusal | null> {
    const job = heldJob(this.#store, jobId, lease);
    if ("refused" in job) return job;
    if (job.spec.kind !== "plan") return { refused: "illegal", detail: "Only a build's plan job uploads its pipeline." };
    const meta = this.#store.meta();
    if (!meta) return { refused: "not_found", detail: "No such build." };
    if (!meta.commitSha && !commitSha) return { refused: "illegal", detail: "The plan job must report the commit it planned (commitSha)." };
    meta.pipeline = PipelineSchema.parse(pipeline);
    if (commitSha) meta.commitSha = commitSha;
    this.#store.saveMeta(meta);
    this.#startIfClaimed(job, lease);
    this.#store.saveJob(job);
    return null;
  }

  async complete(jobId: string, holder: Holder, result: Omit<CompleteRequest, "leaseId" | "fencingToken">): Promise<LeaseRefusal | null> {
    return this.#traced("job complete", { attributes: { "sparki.job_id": jobId, "sparki.job_status": result.status } }, async (span) => {
      const refused = await this.#complete(jobId, holder, result);
      if (refused) {
        span.set({ "sparki.refused": refused.refused });
        span.fail(refused.detail);
      }
      return refused;
    });
  }

  async #complete(jobId: string, holder: Holder, result: Omit<CompleteRequest, "leaseId" | "fencingToken">): Promise<LeaseRefusal | null> {
    const job = heldJob(this.#store, jobId, holder);
    if ("refused" in job) return job;
    const refused = applyJobEvent(job, {
      type: "complete",
      at: Date.now(),
      fencingToken: holder.fencingToken,
      status: result.status,
      exitCode: result.exitCode,
    });
    if (refused) return refused;
    job.steps = result.steps;
    this.#store.saveJob(job);
    this.#progress.recordJob(job);
    this.#store.clearTimer(`lease:${jobId}`);
    this.#store.clearTimer(`timeout:${jobId}`);
    this.#log().info(`job ${jobId} ${result.status}`, { job_id: jobId, status: result.status, exit_code: result.exitCode });
    const before = this.#store.meta()?.state.status;
    await this.#progress.advance(result.error ?? null);
    this.#noteEnd(before);
    return null;
  }

  async release(jobId: string, holder: Holder): Promise<LeaseRefusal | null> {
    return this.#traced("job release", { attributes: { "sparki.job_id": jobId, "sparki.runner_id": holder.runnerId } }, async (span) => {
      const refused = await this.#release(jobId, holder);
      if (refused) {
        span.set({ "sparki.refused": refused.refused });
        span.fail(refused.detail);
      } else span.set({ "sparki.job_status": this.#store.job(jobId)?.state.status });
      return refused;
    });
  }

  async #release(jobId: string, holder: Holder): Promise<LeaseRefusal | null> {
    const job = heldJob(this.#store, jobId, holder);
    if ("refused" in job) return job;
    const refused = applyJobEvent(job, { type: "release", at: Date.now(), fencingToken: holder.fencingToken });
    if (refused) return refused;
    this.#store.saveJob(job);
    this.#progress.recordJob(job);
    this.#store.clearTimer(`lease:${jobId}`);
    this.#log().info(`job ${jobId} handed back by its runner`, { job_id: jobId, status: job.state.status });
    if (job.state.status === "queued") await this.#progress.offer(job);
    await this.#progress.advance(null);
    return null;
  }

  /**
   * A runner was revoked: every job it holds here loses its lease at once and goes back to the
   * queue (its log socket is closed), so nothing it sends is accepted any more. Returns how many.
   */
  async revokeRunner(runnerId: string): Promise<number> {
    return this.#traced("runner revoke", { attributes: { "sparki.runner_id": runnerId } }, async (span) => {
      const revoked = await this.#revokeRunner(runnerId);
      span.set({ "sparki.jobs_revoked": revoked });
      return revoked;
    });
  }

  async #revokeRunner(runnerId: string): Promise<number> {
    let revoked = 0;
    for (const job of this.#store.jobs()) {
      if (job.state.runnerId !== runnerId || (job.state.status !== "claimed" && job.state.status !== "running")) continue;
      const moved = transitionJob(job.state, { type: "release", at: Date.now(), fencingToken: job.state.fencingToken });
      if (!moved.ok) continue;
      revoked++;
      job.state = moved.state;
      this.#store.saveJob(job);
      this.#progress.recordJob(job);
      this.#store.clearTimer(`lease:${job.spec.id}`);
      this.#logs.dropRunner(job.spec.id);
      if (moved.state.status === "queued") await this.#progress.offer(job);
    }
    if (revoked > 0) await this.#progress.advance(null);
    return revoked;
  }

  /**
   * Stops offering this build's jobs to a pool: the shared pool, once a claim found that the
   * workspace's policy withholds the build from it (secrets, or `never`).
   */
  async leavePool(pool: string): Promise<void> {
    const meta = this.#store.meta();
    if (!meta?.init.pools.includes(pool) || meta.init.pools.length === 1) return;
    meta.init = { ...meta.init, pools: meta.init.pools.filter((p) => p !== pool) };
    this.#store.saveMeta(meta);
    const leaving = runnerDispatcher(this.env, pool);
    await Promise.all(this.#store.jobs().map((j) => leaving.withdraw(j.spec.id)));
  }

  /**
   * A newer build of the same group supersedes this one: cancelled with the reason, unless it
   * turns out to build the same commit. One not started yet remembers it for `start`.
   */
  async supersede(input: Superseder): Promise<void> {
    const by = Superseder.parse(input);
    // One not started yet has no trace to join (its start records the cancel).
    if (!this.#store.meta()) {
      await this.ctx.storage.put(supersededKey, by);
      return;
    }
    const attributes = { "sparki.reason": supersededReason(by), "sparki.superseded_by": by.number };
    await this.#traced("build supersede", { attributes }, async (span) => {
      const meta = this.#store.meta();
      const sameCommit = by.commitSha !== null && meta?.commitSha === by.commitSha;
      span.set({ "sparki.same_commit": sameCommit });
      if (!sameCommit) await this.#cancel(supersededReason(by), span);
      else span.set({ "sparki.cancelled": false });
    });
  }

  /**
   * Cancels the build: queued jobs end at once, running ones are told through heartbeat and
   * socket. `reason` is the build's error line (a person's cancel has none).
   */
  async cancel(reason?: string): Promise<BuildView | null> {
    // No reason: a person's, through the API.
    return this.#traced("build cancel", { attributes: { "sparki.reason": reason ?? "requested" } }, async (span) => {
      await this.#cancel(reason ?? null, span);
      return this.view();
    });
  }

  /**
   * Cancels the build if it is still running. Cancelling a finished one is no failure (the API
   * answers it with the build as it is): the span says it changed nothing.
   */
  async #cancel(reason: string | null, span: TraceSpan): Promise<void> {
    const meta = this.#store.meta();
    if (!meta) return;
    if (BUILD_FINISHED.has(meta.state.status)) return span.set({ "sparki.cancelled": false, "sparki.build_status": meta.state.status });
    const now = Date.now();
    let ended = 0;
    let told = 0;
    for (const job of this.#store.jobs()) {
      const moved = transitionJob(job.state, { type: "cancel", at: now });
      if (!moved.ok) continue;
      job.state = moved.state;
      this.#store.saveJob(job);
      this.#progress.recordJob(job);
      if (job.state.status === "cancelled") {
        ended++;
        await this.#progress.withdraw(job.spec.id);
      } else {
        told++;
        this.#logs.pushCancel(job.spec.id);
      }
    }
    const cancelled = transitionBuild(meta.state, { type: "cancel", at: now });
    if (cancelled.ok) await this.#progress.finish(meta, cancelled.state, reason);
    // Jobs that ended at once (queued), and running ones told to stop (their runners end them).
    span.set({ "sparki.cancelled": cancelled.ok, "sparki.jobs_cancelled": ended, "sparki.jobs_stopping": told });
  }

  /**
   * Re-runs a finished build's failed, cancelled and timed-out jobs (and so their dependents) as
   * a new attempt; jobs that succeeded keep their results. Null when the build cannot be retried.
   */
  async retry(): Promise<BuildView | null> {
    return this.#traced("build retry", {}, (span) => this.#retry(span));
  }

  async #retry(span: TraceSpan): Promise<BuildView | null> {
    const meta = this.#store.meta();
    if (!meta) return null;
    const now = Date.now();
    const moved = transitionBuild(meta.state, { type: "retry", at: now });
    if (!moved.ok) {
      // The API answers 409: only a finished build that did not succeed can be retried.
      span.set({ "sparki.build_status": meta.state.status });
      span.fail(`A ${meta.state.status} build cannot be retried.`);
      return null;
    }
    let retried = 0;
    meta.state = moved.state;
    meta.error = null;
    this.#store.saveMeta(meta);
    for (const job of this.#store.jobs()) {
      if (meta.skipped.includes(job.spec.id) || job.state.status === "succeeded") continue;
      // The fencing token carries over, so the next claim's token is larger than any old runner's.
      job.state = { ...initialJob(), attempt: job.state.attempt, fencingToken: job.state.fencingToken };
      job.steps = [];
      this.#store.saveJob(job);
      this.#progress.recordJob(job);
      retried++;
    }
    this.#progress.recordBuild(meta);
    this.#store.setTimer("reoffer", now + reofferEveryMs);
    await this.#progress.advance(null);
    span.set({ "sparki.attempt": meta.state.attempt, "sparki.jobs_retried": retried });
    return this.view();
  }

  async view(): Promise<BuildView | null> {
    const meta = this.#store.meta();
    return meta ? buildView(meta, this.#store.jobs()) : null;
  }

  async forgetLog(): Promise<number> {
    const meta = this.#store.meta();
    if (meta && !BUILD_FINISHED.has(meta.state.status)) return -1;
    return this.#lines.forget();
  }

  override async fetch(request: Request): Promise<Response> {
    return this.#logs.handle(request);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#logs.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.#logs.closed(ws, code);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#logs.errored(ws);
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const before = this.#store.meta()?.state.status;
    const due = this.#store.dueTimers(now);
    // A span only when a timer takes a job from its runner. The alarm also wakes after every
    // change (the outbox's sync), every 30 s while a job waits (reoffer) and for timers their job
    // outlived: a span each would bury the build's trace in bookkeeping and cost a request each.
    if (due.some((name) => this.#timers.takesJob(name, now))) await this.#traced("build alarm", {}, async (span) => span.set(await this.#timers.run(due, now)));
    else await this.#timers.run(due, now);
    this.#noteEnd(before);
    if (!(await flushOutbox(this.#store, this.env))) {
      const attempts = this.#store.outbox()[0]?.attempts ?? 1;
      const delay = retryDelayMs(attempts);
      this.#log().warn(`Postgres has not taken this build's updates yet; retrying in ${delay} ms`, { attempts, pending: this.#store.outbox().length });
      this.#store.setTimer("sync", now + delay);
    }
    await this.#progress.armAlarm();
  }

  // --- internals -------------------------------------------------------------------------

  #startIfClaimed(job: JobRow, lease: Holder): void {
    if (job.state.status !== "claimed") return;
    if (!applyJobEvent(job, { type: "start", at: Date.now(), fencingToken: lease.fencingToken })) this.#progress.recordJob(job);
  }
}
