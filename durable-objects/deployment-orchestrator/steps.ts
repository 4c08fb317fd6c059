/**
 * One alarm's work for a deployment: whatever its status asks for next (validate, deploy and wait
 * for the platform, route the traffic of the current step, run a health check when one is due,
 * roll back), fed back into the machine, until it has to wait for time to pass or for a person.
 */
import { trafficOf, type DeploymentEvent, type StageState } from "../../core/deploy/machine.ts";
import { PlatformError, type PlatformAdapter, type PlatformDeployment } from "../../core/deploy/adapter.ts";
import { siteOfHost } from "../../server/sites/hosts.js";
import { serveSite } from "../../server/sites/serve.js";
import type { Meta, StageInit } from "../../server/objects/deployment-orchestrator/protocol.js";
import { configOf, type Bindings } from "../../server/config.js";
import { healthFetch, outboundOf } from "./outbound.js";
import { checkHealth, healthUrl, internalSitesOrigin, Work } from "./work.js";
import type { Attributes } from "@opentelemetry/api";
import { inSpan, tracingOff, type TraceSpan, type Tracing } from "../../core/tracing/context.js";
import { tracingOf } from "../../server/tracing.js";
import { letGo, takeTurn } from "./stage-turn.js";

/** How often a platform deployment that is still building is asked about. */
const platformPollMs = 2000;
/** How long to wait after a poll the platform could not answer (429, 5xx, unreachable) and gave no hint. */
const platformRetryMs = 5000;
/** Enough transitions for validate → deploy → route → first check in one alarm. */
const maxTransitionsPerAlarm = 20;

/**
 * What the steps may do to the deployment, handed over by the object that owns it; not on the
 * object's RPC surface.
 */
export interface StageHost {
  readonly env: Bindings;
  /** Applies an event to the machine; records it and the stage timings. False when the machine refused it. */
  apply(meta: Meta, event: DeploymentEvent, type: string, stage: string | null, message: string, quiet?: boolean): boolean;
  /** Appends to the event history and tells every viewer. */
  record(meta: Meta, type: string, stage: string | null, message: string): void;
  /** Keeps the object alive for work after the step (sending its spans). */
  waitUntil(work: Promise<unknown>): void;
}

export class Steps {
  readonly work: Work;
  /** When the next alarm should come; null when only a person (or nothing) can move it on. */
  wakeAt: number | null = null;
  readonly #abort = new AbortController();
  /** The deployment's spans (validation, each stage's deploy, health checks, rollback), in its trace. */
  readonly #tracing: Tracing;

  constructor(
    readonly host: StageHost,
    readonly meta: Meta,
  ) {
    this.work = new Work(host.env, meta.init, this.#abort.signal);
    this.#tracing = meta.init.traceparent ? tracingOf(configOf(host.env), "sparki-deployment-orchestrator") : tracingOff;
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.work.close();
    if (this.#tracing.enabled) this.host.waitUntil(this.#tracing.flushSoon());
  }

  /** Runs `work` in a span under the deployment's traceparent. */
  #traced<T>(name: string, attributes: Attributes, work: (span: TraceSpan) => Promise<T>): Promise<T> {
    const { traceparent, releaseId } = this.meta.init;
    return inSpan(this.#tracing, name, { parent: traceparent, attributes: { "sparki.release_id": releaseId, ...attributes } }, work);
  }

  #stage(): { plan: StageInit; state: StageState } | null {
    const i = this.meta.state.current;
    const plan = this.meta.init.stages[i];
    const state = this.meta.state.stages[i];
    return plan && state ? { plan, state } : null;
  }

  async run(): Promise<void> {
    for (let i = 0; i < maxTransitionsPerAlarm; i++) {
      this.wakeAt = null;
      const now = Date.now();
      const { meta } = this;
      const current = this.#stage();
      if (
        meta.deadline !== null &&
        now >= meta.deadline &&
        this.host.apply(
          meta,
          { type: "time_out" },
          "timed_out",
          current?.plan.name ?? null,
          `stage ${current?.plan.name} ran out of time while ${meta.state.status}`,
        )
      )
        continue;
      const moved = await this.#once(now);
      if (!moved) break;
    }
    if (this.meta.deadline !== null) this.wakeAt = Math.min(this.wakeAt ?? Infinity, this.meta.deadline);
    await letGo(this.host, this.meta);
  }

  /** Does what the status asks; true when the state moved and the loop should look again. */
  async #once(now: number): Promise<boolean> {
    const { meta, host } = this;
    const current = this.#stage();
    switch (meta.state.status) {
      case "pending": {
        const problems = await this.#traced("deployment validate", {}, async (span) => {
          const found = await this.work.validate();
          if (found.length > 0) span.fail(found.join("; "));
          return found;
        });
        return host.apply(
          meta,
          { type: "validated", problems },
          problems.length > 0 ? "validation_failed" : "validated",
          null,
          problems.length > 0 ? problems.join("; ") : "every pre-deploy check passed",
        );
      }
      case "deploying":
        return current ? this.#deploy(current.plan, now) : false;
      case "verifying":
        return current ? this.#verify(current.plan, current.state, now) : false;
      case "rolling_back":
        return this.#rollBack();
      default:
        return false;
    }
  }

  async #adapter(plan: StageInit): Promise<{ adapter: PlatformAdapter; ctx: Awaited<ReturnType<Work["context"]>> }> {
    const adapter = this.work.adapter(plan);
    return { adapter, ctx: await this.work.context(plan, adapter) };
  }

  async #deploy(plan: StageInit, now: number): Promise<boolean> {
    const { meta, host } = this;
    const target = await this.#adapter(plan);
    const failed = (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      meta.pending = null;
      meta.pollRetries = 0;
      return host.apply(meta, { type: "deploy_failed", message }, "deploy_failed", plan.name, message);
    };
    if (!meta.pending) {
      // One release deploys a stage at a time (stage-turn.ts): wait for the stage's turn first.
      const turn = await takeTurn(host, meta, plan.name, now);
      if (!turn.go) {
        this.wakeAt = turn.wakeAt;
        return meta.state.status !== "deploying";
      }
      try {
        meta.pending = await this.#traced(`stage deploy ${plan.name}`, { "sparki.stage": plan.name, "sparki.platform": plan.platform }, () =>
          target.adapter.deploy(target.ctx),
        );
      } catch (err) {
        return failed(err);
      }
      host.record(meta, "deploy_started", plan.name, `${plan.platform} accepted deployment ${meta.pending.id}`);
    }
    let platformState: Awaited<ReturnType<PlatformAdapter["state"]>>;
    try {
      platformState = await target.adapter.state(target.ctx, meta.pending);
    } catch (err) {
      // A platform that is busy or briefly down (429, 5xx, unreachable) has not said the
      // deployment failed: ask again later. The stage's deadline still ends the wait.
      if (!(err instanceof PlatformError && err.retryable)) return failed(err);
      // The client caps the platform's hint (server/deploy/retry.ts), so a hostile one cannot stall us.
      const waitMs = err.retryAfterMs ?? platformRetryMs;
      meta.pollRetries = (meta.pollRetries ?? 0) + 1;
      // Once per streak: the history says why the stage waits, without a line per poll.
      if (meta.pollRetries === 1) host.record(meta, "deploy_waiting", plan.name, `${err.message}; asking again in ${Math.ceil(waitMs / 1000)} s`);
      this.wakeAt = now + waitMs;
      return false;
    }
    meta.pollRetries = 0;
    if (platformState === "pending") {
      this.wakeAt = now + platformPollMs;
      return false;
    }
    const deployment = meta.pending;
    meta.pending = null;
    if (platformState === "failed") {
      const message = `${plan.platform} reports deployment ${deployment.id} failed`;
      return host.apply(meta, { type: "deploy_failed", message }, "deploy_failed", plan.name, message);
    }
    const times = meta.times[meta.state.current];
    if (times) times.url = target.adapter.addressOf?.(target.ctx, deployment) ?? deployment.url;
    meta.nextCheckAt = now;
    return host.apply(
      meta,
      { type: "deployed", platformDeploymentId: deployment.id, at: now },
      "deployed",
      plan.name,
      `deployed ${deployment.id}${deployment.url ? ` at ${deployment.url}` : ""}`,
    );
  }

  async #verify(plan: StageInit, stage: StageState, now: number): Promise<boolean> {
    const { meta, host } = this;
    const deployment: PlatformDeployment = { id: stage.platformDeploymentId ?? "", url: meta.times[meta.state.current]?.url ?? null };
    const routeKey = `${meta.state.current}:${stage.step}`;
    if (meta.routed !== routeKey) {
      const target = await this.#adapter(plan);
      const percent = trafficOf(stage);
      try {
        if (target.adapter.route) await target.adapter.route(target.ctx, deployment, percent);
      } catch (err) {
        return host.apply(
          meta,
          { type: "health", ok: false, detail: `routing ${percent}% of traffic failed: ${err instanceof Error ? err.message : String(err)}`, at: now },
          "health",
          plan.name,
          "routing failed",
        );
      }
      meta.routed = routeKey;
      if (target.adapter.route) host.record(meta, "traffic", plan.name, `${percent}% of ${plan.name} traffic on the new version`);
      meta.nextCheckAt = now;
    }
    if (now < meta.nextCheckAt) {
      this.wakeAt = meta.nextCheckAt;
      return false;
    }
    const url = healthUrl(plan, meta.init, deployment);
    const result = url
      ? await this.#traced(`health check ${plan.name}`, { "sparki.stage": plan.name, "sparki.platform": plan.platform, "url.full": url }, async (span) => {
          const checked = await checkHealth(url, plan, (request) => this.#fetch(plan, request));
          span.set({ "sparki.healthy": checked.ok, "sparki.health_detail": checked.detail });
          if (!checked.ok) span.fail(checked.detail);
          return checked;
        })
      : { ok: true, detail: "no health check: the platform reports it ready" };
    const at = Date.now();
    meta.nextCheckAt = at + (plan.healthCheck?.intervalSeconds ?? 1) * 1000;
    this.wakeAt = meta.nextCheckAt;
    // While a step only waits out its pause, more passing checks are not news.
    const quiet = result.ok && stage.passes >= plan.healthyThreshold;
    host.apply(
      meta,
      { type: "health", ok: result.ok, detail: result.detail, at },
      "health",
      plan.name,
      `${result.ok ? "healthy" : "unhealthy"}: ${result.detail}`,
      quiet,
    );
    // A moved step routes its traffic at once; otherwise wait for the next check.
    return meta.state.status !== "verifying" || meta.routed !== `${meta.state.current}:${meta.state.stages[meta.state.current]?.step}`;
  }

  /**
   * sparki-static is served by this same Worker: the sites module answers the deployment's own
   * host in process (the path normalised inside the site), never the API.
   */
  async #fetch(plan: StageInit, request: Request): Promise<Response> {
    const url = new URL(request.url);
    const target = plan.platform === "sparki-static" ? siteOfHost(internalSitesOrigin, url.host) : undefined;
    if (!target) return healthFetch(plan, outboundOf(configOf(this.host.env)))(request);
    return serveSite({ bucket: this.host.env.ARTIFACTS, db: this.work.db, cache: this.work.cache }, target, { method: request.method, path: url.pathname });
  }

  async #rollBack(): Promise<boolean> {
    const { meta, host } = this;
    try {
      for (const target of meta.state.rollingBack) {
        const plan = meta.init.stages[target.stage];
        if (!plan) continue;
        const found = await this.#adapter(plan);
        await this.#traced(
          `stage rollback ${plan.name}`,
          { "sparki.stage": plan.name, "sparki.platform": plan.platform, "sparki.rollback_to": target.to },
          () => found.adapter.rollback(found.ctx, { id: target.to, url: null }),
        );
        host.record(meta, "stage_rolled_back", plan.name, `${plan.name} serves ${target.to} again`);
      }
      return host.apply(meta, { type: "rolled_back" }, "rollback_done", null, "the previous versions serve again");
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return host.apply(meta, { type: "rollback_failed", message }, "rollback_failed", null, message);
    }
  }
}
