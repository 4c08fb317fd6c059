import { DurableObject } from "cloudflare:workers";
import {
  DEPLOYMENT_FINISHED,
  initialDeployment,
  trafficOf,
  transitionDeployment,
  type DeploymentEvent,
  type RollbackTarget,
} from "../../core/deploy/machine.ts";
import { describeTransitionError } from "../../core/build/index.ts";
import type { Bindings } from "../../server/config.js";
import { configOf } from "../../server/config.js";
import { deploymentMetrics } from "./metrics.js";
import {
  Person,
  ReleaseInit,
  type DeploymentOrchestratorRpc,
  type Meta,
  type OrchestratorView,
  type Refusal,
} from "../../server/objects/deployment-orchestrator/protocol.js";
import { DeploymentViewers } from "./viewers.js";
import { Steps, type StageHost } from "./steps.js";
import type { Work } from "./work.js";
import { stageSignature, syncDelayMs, syncToPostgres, type StoredEvent } from "./sync.js";
import { objectLogger } from "../../server/log.js";
import { countConnections } from "../connections.js";
import { traceIdOf } from "../../core/tracing/context.js";
import type { Logger } from "../../core/logging/logger.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const eventsShown = 500;
/** Event types that mean something went wrong; the rest are the deployment's ordinary course. */
const warningEvents = /fail|unhealthy|roll|timed_out|timeout|cancel|reject|refus/;

/** The event a request of the API's records: its words, and the user id of who asked (null when no person did). */
interface Note {
  type: string;
  message: string;
  actor: string | null;
}

/**
 * DeploymentOrchestrator: one per deployment (release). It owns the deployment's state machine,
 * drives every step from its alarm (validation, deploys, health checks, traffic steps, rollbacks,
 * timeouts), keeps the event history in its SQLite storage, streams it to viewers over hibernating
 * WebSockets, and writes it all to Postgres, retrying until Postgres accepts.
 */
export class DeploymentOrchestrator extends DurableObject<Bindings> implements DeploymentOrchestratorRpc {
  /** Event viewers; they only listen. */
  readonly #viewers: DeploymentViewers;
  /**
   * What the alarm's steps (steps.ts) may do to the deployment. Handed to them rather than
   * public on the class, where any holder of a stub could call it.
   */
  readonly #host: StageHost;
  #logger: Logger | undefined;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.#viewers = new DeploymentViewers(ctx, env, countConnections(env, ctx, "deployment-orchestrator"));
    this.#host = {
      env,
      apply: (meta, event, type, stage, message, quiet) => this.#apply(meta, event, type, stage, message, quiet),
      record: (meta, type, stage, message) => this.#record(meta, type, stage, message),
      waitUntil: (work) => ctx.waitUntil(work),
    };
    ctx.blockConcurrencyWhile(async () => {
      const sql = ctx.storage.sql;
      sql.exec(
        "create table if not exists events (seq integer primary key, at integer not null, type text not null, stage text, message text not null, actor text)",
      );
      // `actor` (the user id of who asked for the event) came later; objects made before lack it.
      const columns = sql.exec<{ name: string }>("select name from pragma_table_info('events')").toArray();
      if (!columns.some((c) => c.name === "actor")) sql.exec("alter table events add column actor text");
    });
  }

  async #meta(): Promise<Meta | undefined> {
    return this.ctx.storage.get<Meta>("meta");
  }

  #lock: Promise<unknown> = Promise.resolve();

  /**
   * Runs one read-modify-write of the state at a time. The alarm awaits platforms and health
   * checks, and an approve or rollback arriving meanwhile would otherwise be overwritten when the
   * alarm saves the state it read before.
   */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #save(meta: Meta): Promise<void> {
    await this.ctx.storage.put("meta", meta);
  }

  /** Starts the deployment. Idempotent: the API and the queue consumer may both call it. */
  async start(input: ReleaseInit): Promise<OrchestratorView> {
    return this.#exclusive(() => this.#start(input));
  }

  async #start(input: ReleaseInit): Promise<OrchestratorView> {
    const existing = await this.#meta();
    if (existing) return this.#view(existing);
    const init = ReleaseInit.parse(input);
    const state = initialDeployment(
      init.stages.map((s) => ({
        name: s.name,
        approval: s.approval,
        healthyThreshold: s.healthyThreshold,
        unhealthyThreshold: s.unhealthyThreshold,
        previous: s.previous,
        trafficSteps: s.trafficSteps,
        pauseMs: s.pauseMs,
      })),
    );
    const meta: Meta = {
      init,
      state,
      times: init.stages.map(() => ({ startedAt: null, completedAt: null, url: null })),
      pending: null,
      routed: null,
      nextCheckAt: 0,
      deadline: null,
      completedAt: null,
      syncedSeq: 0,
      syncedStatus: null,
      syncAttempts: 0,
      syncRetryAt: null,
      metricsStatus: null,
      audits: [],
    };
    this.#record(
      meta,
      "created",
      null,
      `deployment of ${init.commitSha?.slice(0, 12) ?? init.branch} to ${init.stages.map((s) => s.name).join(" → ")} (${init.trigger})`,
    );
    await this.#save(meta);
    await this.ctx.storage.setAlarm(Date.now());
    return this.#view(meta);
  }

  async view(): Promise<OrchestratorView | null> {
    const meta = await this.#meta();
    return meta ? this.#view(meta) : null;
  }

  /**
   * Approves the stage waiting for approval and records who did (by user id: people.ts). `stage`
   * names the stage the caller's role was checked against: if that stage was approved meanwhile
   * and the next one now waits (its approvers may differ), the request is refused instead of
   * approving the next.
   */
  async approve(by: Person, stage: string): Promise<OrchestratorView | Refusal> {
    const { id } = Person.parse(by);
    return this.#request({ type: "approve" }, { type: "approved", message: "approved", actor: id }, (meta, index) => {
      const current = meta.state.stages[index]?.name;
      if (current !== stage) return `Stage ${current ?? "(none)"} waits for approval, not ${stage}.`;
      const times = meta.times[index];
      if (times) {
        times.approvedBy = { id };
        times.approvedAt = Date.now();
      }
      return null;
    });
  }

  async cancel(by: Person | string): Promise<OrchestratorView | Refusal> {
    const note = typeof by === "string" ? { message: `cancelled by ${by}`, actor: null } : { message: "cancelled", actor: Person.parse(by).id };
    return this.#request({ type: "cancel" }, { type: "cancel_requested", ...note });
  }

  async rollback(by: Person, targets: RollbackTarget[] | undefined): Promise<OrchestratorView | Refusal> {
    // Who asked is the request event's actor; the reason, kept in Postgres and shown, names nobody.
    return this.#request(
      { type: "rollback", reason: "rolled back by hand", ...(targets ? { targets } : {}) },
      { type: "rollback_requested", message: "rollback requested", actor: Person.parse(by).id },
    );
  }

  /** Wake-ups since this instance started; a step that saw one arrive runs again at once. */
  #wakes = 0;

  async wake(): Promise<void> {
    this.#wakes++;
    await this.ctx.storage.setAlarm(Date.now());
  }

  /**
   * A request of the API's: `note` is the event recorded when it applies. `check` may refuse
   * before the event applies (a reason), and note what the event changes on the current stage.
   */
  async #request(event: DeploymentEvent, note: Note, check?: (meta: Meta, index: number) => string | null): Promise<OrchestratorView | Refusal> {
    return this.#exclusive(() => this.#requested(event, note, check));
  }

  async #requested(event: DeploymentEvent, note: Note, check?: (meta: Meta, index: number) => string | null): Promise<OrchestratorView | Refusal> {
    const meta = await this.#meta();
    if (!meta) return { refused: "This deployment has not started." };
    const index = meta.state.current;
    if (check && transitionDeployment(meta.state, event).ok) {
      const refused = check(meta, index);
      if (refused) return { refused };
    }
    const moved = this.#apply(meta, event, note.type, meta.state.stages[index]?.name ?? null, note.message, false, note.actor);
    if (!moved) {
      const next = transitionDeployment(meta.state, event);
      return { refused: `Cannot ${event.type} this deployment: ${next.ok ? "nothing to do" : describeTransitionError(next.error)}.` };
    }
    await this.#save(meta);
    await this.ctx.storage.setAlarm(Date.now());
    return this.#view(meta);
  }

  /** Applies an event; records it (with who asked for it) and the stage timings. False when the machine refused it. */
  #apply(meta: Meta, event: DeploymentEvent, type: string, stage: string | null, message: string, quiet = false, actor: string | null = null): boolean {
    const before = meta.state;
    const next = transitionDeployment(before, event);
    if (!next.ok) return false;
    meta.state = next.state;
    const now = Date.now();
    next.state.stages.forEach((s, i) => {
      const times = meta.times[i];
      if (!times || s.status === before.stages[i]?.status) return;
      if (s.status === "deploying") times.startedAt = now;
      if (["healthy", "unhealthy", "rolled_back", "skipped"].includes(s.status) && times.startedAt !== null) times.completedAt = now;
    });
    if (!quiet) this.#record(meta, type, stage, message, actor);
    if (next.state.status !== before.status) {
      meta.deadline = this.#deadlineFor(meta, now);
      if (next.state.status === "awaiting_approval") {
        const name = next.state.stages[next.state.current]?.name ?? null;
        const roles = meta.init.stages[next.state.current]?.approverRoles ?? [];
        this.#record(meta, "approval_needed", name, `stage ${name} waits for approval${roles.length ? ` by ${roles.join(" or ")}` : ""}`);
      }
      if (next.state.status === "rolling_back" && event.type !== "rollback") {
        meta.audits.push({ action: "deployment.rollback", details: { automatic: true, reason: next.state.reason } });
      }
      if (DEPLOYMENT_FINISHED.has(next.state.status)) {
        meta.completedAt = now;
        this.#record(meta, next.state.status, null, next.state.reason ?? `deployment ${next.state.status}`);
      }
    }
    return true;
  }

  #deadlineFor(meta: Meta, now: number): number | null {
    const config = configOf(this.env);
    if (meta.state.status === "awaiting_approval") return now + config.DEPLOY_APPROVAL_TIMEOUT_SECONDS * 1000;
    if (meta.state.status === "deploying" || meta.state.status === "verifying") return now + config.DEPLOY_STAGE_TIMEOUT_SECONDS * 1000;
    return null;
  }

  /** The deployment's lines in the operators' log, correlated by its id. */
  #log(meta: Meta): Logger {
    this.#logger ??= objectLogger(this.env, "deployment-orchestrator", meta.init.releaseId, {
      workspaceId: meta.init.workspaceId,
      traceId: traceIdOf(meta.init.traceparent) ?? undefined,
    });
    return this.#logger;
  }

  /**
   * Appends to the event history, the operators' log too, and tells every viewer. `actor` is the
   * user id of the person who asked for it; `message` then holds only the words ("approved").
   */
  #record(meta: Meta, type: string, stage: string | null, message: string, actor: string | null = null): void {
    const at = Date.now();
    const cursor = this.ctx.storage.sql.exec<{ seq: number }>(
      "insert into events (seq, at, type, stage, message, actor) values ((select coalesce(max(seq), 0) + 1 from events), ?, ?, ?, ?, ?) returning seq",
      at,
      type,
      stage,
      message,
      actor,
    );
    const seq = cursor.one().seq;
    this.#log(meta)[warningEvents.test(type) ? "warn" : "info"](message, {
      deployment_id: meta.init.releaseId,
      project_id: meta.init.projectId,
      event: type,
      stage,
      seq,
    });
    // The view (with its events) is read only when someone listens.
    if (this.#viewers.watched)
      this.#viewers.tell({ seq, at: new Date(at).toISOString(), type, stage, message, actor }, () => this.#view(meta), this.#log(meta));
  }

  #events(after = 0, limit = eventsShown): StoredEvent[] {
    return this.ctx.storage.sql
      .exec<{ seq: number; at: number; type: string; stage: string | null; message: string; actor: string | null }>(
        "select * from (select seq, at, type, stage, message, actor from events where seq > ? order by seq desc limit ?) order by seq",
        after,
        limit,
      )
      .toArray();
  }

  #view(meta: Meta): OrchestratorView {
    const { init, state } = meta;
    return {
      id: init.releaseId,
      projectId: init.projectId,
      buildId: init.buildId,
      commitSha: init.commitSha,
      branch: init.branch,
      status: state.status,
      reason: state.reason,
      trigger: init.trigger,
      pullRequest: init.pullRequest ?? null,
      createdAt: new Date(init.createdAt).toISOString(),
      completedAt: iso(meta.completedAt),
      stages: state.stages.map((s, i) => {
        const plan = init.stages[i];
        const approver = meta.times[i]?.approvedBy;
        return {
          id: plan?.attemptId ?? init.releaseId,
          name: s.name,
          platform: plan?.platform ?? "unknown",
          strategy: plan?.strategy ?? "all-at-once",
          status: s.status,
          approval: s.approval,
          approverRoles: plan?.approverRoles ?? ["owner", "admin"],
          // Only the id: an approver's email stored by an older orchestrator is never shown.
          approvedBy: approver ? { id: approver.id } : null,
          approvedAt: iso(meta.times[i]?.approvedAt ?? null),
          trafficPercent: s.status === "rolled_back" ? 0 : trafficOf(s),
          passes: s.passes,
          failures: s.failures,
          url: meta.times[i]?.url ?? null,
          startedAt: iso(meta.times[i]?.startedAt ?? null),
          completedAt: iso(meta.times[i]?.completedAt ?? null),
        };
      }),
      events: this.#events().map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
    };
  }

  /** `GET /v1/deployments/:id/events`: a hibernating socket that gets every event as it happens. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const meta = await this.#meta();
    if (!meta) return new Response("no such deployment", { status: 404 });
    const { 0: client, 1: server } = new WebSocketPair();
    const last = this.#events(0, 1)[0];
    await this.#viewers.welcome(server, last && { ...last, at: new Date(last.at).toISOString() }, this.#view(meta), this.#log(meta));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(): Promise<void> {
    // Viewers only listen.
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.#viewers.closed(ws, code);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#viewers.ended(ws);
  }

  override async alarm(): Promise<void> {
    await this.#exclusive(() => this.#step());
  }

  async #step(): Promise<void> {
    const wakesBefore = this.#wakes;
    const meta = await this.#meta();
    if (!meta) return;
    const steps = new Steps(this.#host, meta);
    try {
      await steps.run();
      // Saved before Postgres is asked, so a sync that never returns loses no progress.
      await this.#save(meta);
      await this.#sync(meta, steps.work);
    } finally {
      await steps.close();
    }
    if (DEPLOYMENT_FINISHED.has(meta.state.status) && meta.metricsStatus !== meta.state.status) {
      await deploymentMetrics(this.env, meta, meta.metricsStatus === null);
      meta.metricsStatus = meta.state.status;
    }
    await this.#save(meta);
    // A wake-up (the stage lock handing over its turn) that came while this step ran set an alarm
    // the step's own next alarm would overwrite: the release would sleep a minute for nothing.
    const woken = this.#wakes !== wakesBefore ? [Date.now()] : [];
    const wakeAt = [steps.wakeAt, meta.syncRetryAt, ...woken].filter((t): t is number => t !== null);
    if (wakeAt.length > 0) await this.ctx.storage.setAlarm(Math.max(Date.now(), Math.min(...wakeAt)));
  }

  /**
   * Tells the queue that a stage changed, after Postgres has it (the consumer reads Postgres):
   * GitHub's deployment statuses follow. Best effort: a lost message leaves GitHub a step behind
   * until the next change, and never holds up the deployment.
   */
  async #announce(meta: Meta): Promise<void> {
    const event = {
      type: "deployment.changed" as const,
      releaseId: meta.init.releaseId,
      projectId: meta.init.projectId,
      correlationId: meta.init.releaseId,
      occurredAt: new Date().toISOString(),
      ...(meta.init.traceparent ? { traceparent: meta.init.traceparent } : {}),
    };
    await this.env.EVENTS.send(event).catch(() => undefined);
  }

  /** Sends what Postgres has not seen, on the alarm's own connection; on failure, schedules a retry with backoff. */
  async #sync(meta: Meta, work: Work): Promise<void> {
    const events = this.#events(meta.syncedSeq, 10_000);
    const snapshot = JSON.stringify([meta.state, meta.times, meta.completedAt]);
    if (events.length === 0 && meta.syncedStatus === snapshot && meta.audits.length === 0) return;
    try {
      await syncToPostgres(await work.db(), meta, events);
      if (stageSignature(meta.syncedStatus) !== stageSignature(snapshot)) await this.#announce(meta);
      meta.syncedSeq = events.at(-1)?.seq ?? meta.syncedSeq;
      meta.syncedStatus = snapshot;
      meta.audits = [];
      meta.syncAttempts = 0;
      meta.syncRetryAt = null;
    } catch {
      meta.syncAttempts += 1;
      meta.syncRetryAt = Date.now() + syncDelayMs(meta.syncAttempts);
    }
  }
}
