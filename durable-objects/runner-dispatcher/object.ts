import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../../server/config.js";
import { Claimant, JobOffer, labelsMatch, maxClaimWaitMs, type RunnerDispatcherRpc } from "../../server/objects/runner-dispatcher/protocol.js";

interface Waiter {
  claimant: Claimant;
  resolve: (offer: JobOffer | null) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * RunnerDispatcher: one per runner pool (a workspace's, or the shared one). It keeps the pool's
 * ready-job offers (in SQLite, so they survive a restart) and the runners waiting for work (in
 * memory: a long-poll that dies with the object is simply retried by its runner). An offer goes
 * to one claimant at most; the BuildCoordinator decides whether that claim wins, so a job offered
 * to two pools still runs once.
 */
export class RunnerDispatcher extends DurableObject<Bindings> implements RunnerDispatcherRpc {
  readonly #waiting: Waiter[] = [];

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(`create table if not exists offers (
        job_id text primary key,
        build_id text not null,
        labels text not null,
        offered_at integer not null
      )`);
    });
  }

  /** Adds (or refreshes) an offer and hands it straight to a waiting runner that fits. Idempotent. */
  async offer(input: JobOffer): Promise<void> {
    const offer = JobOffer.parse(input);
    const waiter = this.#waiting.find((w) => labelsMatch(offer.labels, w.claimant.labels));
    if (waiter) {
      this.#settle(waiter, offer);
      this.ctx.storage.sql.exec("delete from offers where job_id = ?", offer.jobId);
      return;
    }
    this.ctx.storage.sql.exec(
      "insert into offers (job_id, build_id, labels, offered_at) values (?, ?, ?, ?) on conflict (job_id) do nothing",
      offer.jobId,
      offer.buildId,
      JSON.stringify(offer.labels),
      Date.now(),
    );
  }

  /** Removes an offer (claimed through another pool, or cancelled). */
  async withdraw(jobId: string): Promise<void> {
    this.ctx.storage.sql.exec("delete from offers where job_id = ?", jobId);
  }

  /**
   * Takes the oldest offer the runner's labels fit, waiting up to `waitMs` for one to arrive.
   * The offer leaves the pool; null means none came in time.
   */
  async claim(input: Claimant, waitMs: number): Promise<JobOffer | null> {
    const claimant = Claimant.parse(input);
    const rows = this.ctx.storage.sql
      .exec<{ job_id: string; build_id: string; labels: string }>("select job_id, build_id, labels from offers order by offered_at, job_id")
      .toArray();
    for (const row of rows) {
      const labels = JSON.parse(row.labels) as string[];
      if (!labelsMatch(labels, claimant.labels)) continue;
      this.ctx.storage.sql.exec("delete from offers where job_id = ?", row.job_id);
      return { jobId: row.job_id, buildId: row.build_id, labels };
    }
    const wait = Math.max(0, Math.min(waitMs, maxClaimWaitMs));
    if (wait === 0) return null;
    return new Promise<JobOffer | null>((resolve) => {
      const waiter: Waiter = { claimant, resolve, timer: setTimeout(() => this.#settle(waiter, null), wait) };
      this.#waiting.push(waiter);
    });
  }

  /** How many offers wait and how many runners are polling (for tests and the dashboard). */
  async stats(): Promise<{ offers: number; waiting: number }> {
    const [row] = this.ctx.storage.sql.exec<{ n: number }>("select count(*) as n from offers").toArray();
    return { offers: row?.n ?? 0, waiting: this.#waiting.length };
  }

  #settle(waiter: Waiter, offer: JobOffer | null): void {
    const index = this.#waiting.indexOf(waiter);
    if (index >= 0) this.#waiting.splice(index, 1);
    clearTimeout(waiter.timer);
    waiter.resolve(offer);
  }
}
