import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import type { Bindings } from "../../server/config.js";
import { metricsObject } from "../../server/objects/clients.js";
import {
  Claimant,
  JobOffer,
  type LabelPresence,
  type QueuedLabels,
  type RunnerDispatcherRpc,
  gaugeLabels,
  jobsWaitingGauge,
  labelsMatch,
  maxClaimWaitMs,
  onlineWindowMs,
  otherLabels,
  queueWaitBuckets,
  queueWaitHistogram,
  runnersOnlineGauge,
} from "../../server/objects/runner-dispatcher/protocol.js";
import { Registry } from "../../server/metrics/registry.js";
import { configOf } from "../../server/config.js";
import { gaugeSeries, isOnline, poolRunners, poolRunnersOnlineGauge } from "./gauge.js";
import { objectLogger } from "../../server/log.js";
import { tracingOf } from "../../server/tracing.js";
import { traceIdOf } from "../../core/tracing/context.js";
import type { Logger } from "../../core/logging/logger.js";

interface Waiter {
  claimant: Claimant;
  resolve: (offer: JobOffer | null) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** How soon after a change the pool's waiting jobs reach the gauge: one push for a burst of changes. */
const gaugeDelayMs = 1000;
/** Runners not heard from for a day are forgotten (they only ever count as offline). */
const presenceKeepMs = 24 * 3600 * 1000;
/** While jobs wait, the gauges are pushed again this often: runners come and go without any offer changing. */
const refreshWhileWaitingMs = 60_000;

/**
 * RunnerDispatcher: one per runner pool (a workspace's, or the shared one). It keeps the pool's
 * ready-job offers (in SQLite, so they survive a restart) and the runners waiting for work (in
 * memory: a long-poll that dies with the object is simply retried by its runner). An offer goes
 * to one claimant at most; the BuildCoordinator decides whether that claim wins, so a job offered
 * to two pools still runs once. The offers are also the source of truth for how many jobs wait
 * (the runner-queue route, and the `sparki_jobs_waiting` gauge pushed from the alarm), and the
 * runners it has heard from say whether a waiting job's labels fit any runner online.
 */
export class RunnerDispatcher extends DurableObject<Bindings> implements RunnerDispatcherRpc {
  readonly #waiting: Waiter[] = [];
  #logger: Logger | undefined;
  /** Queue waits of jobs handed out since the last push (lost with the instance: a sample, not a record). */
  readonly #waits = new Registry();

  /** The pool's lines in the operators' log, correlated by the pool's name (`shared`, or a workspace's). */
  #log(): Logger {
    this.#logger ??= objectLogger(this.env, "runner-dispatcher", this.ctx.id.name ?? null);
    return this.#logger;
  }

  /** Lines about one job: with its build's trace and workspace, for finding them from either. */
  #logAbout(offer: JobOffer): Logger {
    return this.#log().child({ traceId: traceIdOf(offer.traceparent) ?? undefined, workspaceId: offer.workspaceId });
  }

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const sql = ctx.storage.sql;
      sql.exec(`create table if not exists offers (
        job_id text primary key,
        build_id text not null,
        labels text not null,
        offered_at integer not null
      )`);
      // Pools made before offers named their workspace, or carried their build's trace, get the
      // columns; the coordinators' re-offers fill them in.
      const columns = new Set(
        sql
          .exec<{ name: string }>("select name from pragma_table_info('offers')")
          .toArray()
          .map((c) => c.name),
      );
      for (const column of ["workspace_id", "traceparent"]) if (!columns.has(column)) sql.exec(`alter table offers add column ${column} text`);
      sql.exec("create table if not exists presence (runner_id text primary key, labels text not null, seen_at integer not null)");
      sql.exec("create table if not exists meta (key text primary key, value text not null)");
      // The pool's name, for the gauge: an alarm may run in an instance no call has named yet.
      if (ctx.id.name) sql.exec("insert into meta (key, value) values ('pool', ?) on conflict (key) do nothing", ctx.id.name);
    });
  }

  /** Adds (or refreshes) an offer and hands it straight to a waiting runner that fits. Idempotent. */
  async offer(input: JobOffer): Promise<void> {
    const offer = JobOffer.parse(input);
    const waiter = this.#waiting.find((w) => labelsMatch(offer.labels, w.claimant.labels));
    if (waiter) {
      // A re-offer of a job that already waited here counts from its first offer.
      const [earlier] = this.ctx.storage.sql.exec<{ offered_at: number }>("select offered_at from offers where job_id = ?", offer.jobId).toArray();
      this.#handedOut(offer, earlier?.offered_at ?? Date.now(), waiter.claimant, "waiting runner");
      this.#settle(waiter, offer);
      await this.#changed(this.ctx.storage.sql.exec("delete from offers where job_id = ?", offer.jobId).rowsWritten);
      return;
    }
    const inserted = this.ctx.storage.sql.exec(
      `insert into offers (job_id, build_id, labels, offered_at, workspace_id, traceparent) values (?, ?, ?, ?, ?, ?)
       on conflict (job_id) do update set
         workspace_id = coalesce(offers.workspace_id, excluded.workspace_id),
         traceparent = coalesce(offers.traceparent, excluded.traceparent)
       where (offers.workspace_id is null and excluded.workspace_id is not null)
          or (offers.traceparent is null and excluded.traceparent is not null)`,
      offer.jobId,
      offer.buildId,
      JSON.stringify(offer.labels),
      Date.now(),
      offer.workspaceId ?? null,
      offer.traceparent ?? null,
    );
    if (inserted.rowsWritten > 0)
      this.#logAbout(offer).debug(`job ${offer.jobId} waits for a runner`, { job_id: offer.jobId, build_id: offer.buildId, labels: offer.labels });
    await this.#changed(inserted.rowsWritten);
  }

  /** Removes an offer (claimed through another pool, or cancelled). */
  async withdraw(jobId: string): Promise<void> {
    await this.#changed(this.ctx.storage.sql.exec("delete from offers where job_id = ?", jobId).rowsWritten);
  }

  /**
   * Takes the oldest offer the runner's labels fit, waiting up to `waitMs` for one to arrive.
   * The offer leaves the pool; null means none came in time.
   */
  async claim(input: Claimant, waitMs: number): Promise<JobOffer | null> {
    const claimant = Claimant.parse(input);
    if (this.#saw(claimant)) await this.#runnersChanged();
    // A runner polls once at a time, so its older poll still waiting here is one it gave up (a
    // killed runner's request can outlive it): an offer handed to it would wait for the lease
    // to run out before another runner could take the job. It ends now, empty.
    this.#endClaimsOf(claimant.runnerId);
    const rows = this.ctx.storage.sql
      .exec<{ job_id: string; build_id: string; labels: string; offered_at: number; workspace_id: string | null; traceparent: string | null }>(
        "select job_id, build_id, labels, offered_at, workspace_id, traceparent from offers order by offered_at, job_id",
      )
      .toArray();
    for (const row of rows) {
      const labels = JSON.parse(row.labels) as string[];
      if (!labelsMatch(labels, claimant.labels)) continue;
      const offer: JobOffer = {
        jobId: row.job_id,
        buildId: row.build_id,
        labels,
        ...(row.workspace_id ? { workspaceId: row.workspace_id } : {}),
        ...(row.traceparent ? { traceparent: row.traceparent } : {}),
      };
      this.#handedOut(offer, row.offered_at, claimant, "runner");
      await this.#changed(this.ctx.storage.sql.exec("delete from offers where job_id = ?", row.job_id).rowsWritten);
      return { jobId: offer.jobId, buildId: offer.buildId, labels };
    }
    const wait = Math.max(0, Math.min(waitMs, maxClaimWaitMs));
    if (wait === 0) return null;
    return new Promise<JobOffer | null>((resolve) => {
      const waiter: Waiter = {
        claimant,
        resolve: (offer) => {
          // The end of a long poll is a sign of life too: the runner asks again right after.
          this.#saw(claimant);
          resolve(offer);
        },
        timer: setTimeout(() => this.#settle(waiter, null), wait),
      };
      this.#waiting.push(waiter);
    });
  }

  /**
   * The runner stopped claiming (POST /v1/runner/disconnect). A claim of its still waiting here
   * outlived the request the runner gave up: an offer handed to it would reach nobody and wait
   * for the lease to run out. Its presence goes too, so a job waiting for its labels no longer
   * reads as having a runner online.
   */
  async disconnect(runnerId: string): Promise<void> {
    const id = z.uuid().parse(runnerId);
    // Settled first: the end of a long poll records the runner as seen.
    this.#endClaimsOf(id);
    const forgotten = this.ctx.storage.sql.exec("delete from presence where runner_id = ?", id).rowsWritten;
    this.#log().info(`runner ${id} disconnected`, { runner_id: id });
    if (forgotten > 0) await this.#runnersChanged();
  }

  /** How many offers wait and how many runners are polling (for tests and the dashboard). */
  async stats(): Promise<{ offers: number; waiting: number }> {
    const [row] = this.ctx.storage.sql.exec<{ n: number }>("select count(*) as n from offers").toArray();
    return { offers: row?.n ?? 0, waiting: this.#waiting.length };
  }

  async waitingJobs(workspaceId?: string): Promise<QueuedLabels[]> {
    const rows = this.ctx.storage.sql
      .exec<{ labels: string; jobs: number; oldest: number }>(
        `select labels, count(*) as jobs, min(offered_at) as oldest from offers
         where ? is null or workspace_id = ? group by labels`,
        workspaceId ?? null,
        workspaceId ?? null,
      )
      .toArray();
    // Grouped again after sorting: the same labels in another order ask for the same runners.
    const bySet = new Map<string, QueuedLabels>();
    for (const row of rows) {
      const labels = (JSON.parse(row.labels) as string[]).sort();
      const key = JSON.stringify(labels);
      const seen = bySet.get(key);
      if (seen) {
        seen.jobs += row.jobs;
        seen.oldestAt = Math.min(seen.oldestAt, row.oldest);
      } else bySet.set(key, { labels, jobs: row.jobs, oldestAt: row.oldest });
    }
    return [...bySet.values()].sort((a, b) => a.oldestAt - b.oldestAt);
  }

  async presence(labelSets: string[][], windowMs: number): Promise<LabelPresence[]> {
    const since = Date.now() - windowMs;
    const online = this.ctx.storage.sql
      .exec<{ runner_id: string; labels: string }>("select runner_id, labels from presence where seen_at >= ?", since)
      .toArray()
      .map((r) => JSON.parse(r.labels) as string[]);
    return labelSets.map((wanted) => ({
      online: online.filter((labels) => labelsMatch(wanted, labels)).length,
      idle: new Set(this.#waiting.filter((w) => labelsMatch(wanted, w.claimant.labels)).map((w) => w.claimant.runnerId)).size,
    }));
  }

  async labelsOnline(windowMs: number): Promise<string[]> {
    const window = z.number().int().nonnegative().parse(windowMs);
    const rows = this.ctx.storage.sql
      .exec<{ labels: string }>("select labels from presence where seen_at >= ?", Date.now() - window)
      .toArray()
      .flatMap((r) => JSON.parse(r.labels) as string[]);
    return [...new Set(rows)].sort();
  }

  async seen(runnerId: string): Promise<void> {
    const sql = this.ctx.storage.sql;
    const [before] = sql.exec<{ seen_at: number }>("select seen_at from presence where runner_id = ?", runnerId).toArray();
    sql.exec("update presence set seen_at = ? where runner_id = ?", Date.now(), runnerId);
    // Most heartbeats change nothing the gauge shows; one from a runner gone quiet brings it back.
    if (before && !isOnline(before.seen_at, Date.now(), this.#onlineWindowMs())) await this.#runnersChanged();
  }

  /**
   * Pushes the pool's waiting jobs and runners online to the gauges (a burst of changes is one
   * push), and forgets long-gone runners. It runs again while jobs wait, and when a runner online
   * would drop out of the window: no push per claim or heartbeat.
   */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    sql.exec("delete from presence where seen_at < ?", now - presenceKeepMs);
    const [pool] = sql.exec<{ value: string }>("select value from meta where key = 'pool'").toArray();
    if (!pool) return; // Never named: nothing was ever offered to it through a client.
    const metrics = metricsObject(this.env);
    const scope = { pool: pool.value };
    const waiting = gaugeSeries(await this.waitingJobs());
    await metrics.replaceGauges(jobsWaitingGauge, scope, waiting);
    // For each label set shown (not the summed rest), how many runners online could take it.
    const shown = waiting.map((s) => s.labels.labels ?? "").filter((l) => l !== otherLabels);
    const sets = shown.map((l) => (l === "" ? [] : l.split(",")));
    const online = await this.presence(sets, onlineWindowMs(configOf(this.env).RUNNER_LEASE_SECONDS));
    await metrics.replaceGauges(
      runnersOnlineGauge,
      scope,
      sets.map((labels, i) => ({ labels: { labels: gaugeLabels(labels) }, value: online[i]?.online ?? 0 })),
    );
    const samples = this.#waits.drain();
    const seenAt = sql
      .exec<{ seen_at: number }>("select seen_at from presence")
      .toArray()
      .map((r) => r.seen_at);
    const runners = poolRunners(seenAt, now, this.#onlineWindowMs(), presenceKeepMs);
    if (runners.remembered) samples.push({ kind: "gauge", name: poolRunnersOnlineGauge, labels: scope, value: runners.online });
    else await metrics.replaceGauges(poolRunnersOnlineGauge, scope, []);
    if (samples.length > 0) await metrics.record(samples);
    const next = [...(waiting.length > 0 ? [Date.now() + refreshWhileWaitingMs] : []), ...(runners.nextChangeAt === null ? [] : [runners.nextChangeAt])];
    if (next.length > 0) await this.ctx.storage.setAlarm(Math.min(...next));
  }

  /**
   * A job leaves the pool for a runner: its wait goes to the next push, to the build's trace (a
   * span from the offer to now, beside the coordinator's spans of the job), and to the log.
   */
  #handedOut(offer: JobOffer, offeredAt: number, claimant: Claimant, to: "runner" | "waiting runner"): void {
    const pool = this.ctx.id.name ?? "unknown";
    this.#waits.observe(queueWaitHistogram, { pool }, Math.max(0, Date.now() - offeredAt) / 1000, queueWaitBuckets);
    if (offer.traceparent) {
      const tracing = tracingOf(configOf(this.env), "sparki-runner-dispatcher");
      const attributes = {
        "sparki.job_id": offer.jobId,
        "sparki.build_id": offer.buildId,
        "sparki.pool": pool,
        "sparki.labels": offer.labels,
        "sparki.runner_id": claimant.runnerId,
      };
      tracing.start("job wait", { parent: offer.traceparent, startMs: offeredAt, attributes }).end();
      // A batch a second, sent after this call's answer (as the coordinator's spans are).
      if (tracing.enabled) this.ctx.waitUntil(tracing.flushSoon());
    }
    this.#logAbout(offer).info(`job ${offer.jobId} handed to ${to} ${claimant.runnerId}`, {
      job_id: offer.jobId,
      build_id: offer.buildId,
      runner_id: claimant.runnerId,
    });
  }

  /** Records the runner as heard from now; true when it was not online before (the pool's count rose). */
  #saw(claimant: Claimant): boolean {
    const [before] = this.ctx.storage.sql.exec<{ seen_at: number }>("select seen_at from presence where runner_id = ?", claimant.runnerId).toArray();
    this.ctx.storage.sql.exec(
      "insert into presence (runner_id, labels, seen_at) values (?, ?, ?) on conflict (runner_id) do update set labels = excluded.labels, seen_at = excluded.seen_at",
      claimant.runnerId,
      JSON.stringify(claimant.labels),
      Date.now(),
    );
    return !before || !isOnline(before.seen_at, Date.now(), this.#onlineWindowMs());
  }

  #onlineWindowMs(): number {
    return onlineWindowMs(configOf(this.env).RUNNER_LEASE_SECONDS);
  }

  /** The pool's count of runners online changed: the gauge learns of it within {@link gaugeDelayMs}. */
  async #runnersChanged(): Promise<void> {
    const soon = Date.now() + gaugeDelayMs;
    const at = await this.ctx.storage.getAlarm();
    if (at === null || at > soon) await this.ctx.storage.setAlarm(soon);
  }

  /** After the offers changed: the gauge learns of it within {@link gaugeDelayMs}. */
  async #changed(rows: number): Promise<void> {
    if ((rows === 0 && this.#waits.samples.size === 0) || (await this.ctx.storage.getAlarm()) !== null) return;
    await this.ctx.storage.setAlarm(Date.now() + gaugeDelayMs);
  }

  /** Ends every claim of this runner still waiting here, empty. */
  #endClaimsOf(runnerId: string): void {
    for (const waiter of this.#waiting.filter((w) => w.claimant.runnerId === runnerId)) this.#settle(waiter, null);
  }

  #settle(waiter: Waiter, offer: JobOffer | null): void {
    const index = this.#waiting.indexOf(waiter);
    if (index >= 0) this.#waiting.splice(index, 1);
    clearTimeout(waiter.timer);
    waiter.resolve(offer);
  }
}
