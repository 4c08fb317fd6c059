/**
 * The orchestrator's hands: a DeployContext for a stage (credentials from the project's
 * encrypted secrets, the build artifact in R2), the adapter for its platform, pre-deploy
 * validation, and one health check.
 */
import type { DeployContext, PlatformAdapter, PlatformDeployment } from "../../core/deploy/adapter.ts";
import { Cache } from "../../server/cache/cache.js";
import { isolateMemo } from "../../server/cache/isolate-memo.js";
import { connect, type Connection, type Db } from "../../server/db/client.js";
import { siteLimitsOf } from "../../server/deploy/static-site.js";
import { adapterFor } from "../../server/deploy/targets.js";
import { configOf, type Bindings } from "../../server/config.js";
import { projectSecrets } from "../../server/secrets/project-secrets.js";
import { siteUrl } from "../../server/sites/hosts.js";
import { OutboundRefused, statusClass } from "../../core/net/outbound.ts";
import { addressProblems, outboundOf, platformFetch } from "./outbound.js";
import type { ReleaseInit, StageInit } from "../../server/objects/deployment-orchestrator/protocol.js";
import { artifactKey } from "../../server/r2-keys.js";

const stageArtifactKey = (init: ReleaseInit, stage: StageInit) => (stage.artifact ? artifactKey(init.projectId, init.buildId, stage.artifact) : null);

/** One call to a platform's API; uploads of big artifacts included. */
const platformCallTimeoutMs = 120_000;

/** The artifact's address for adapters that fetch it: served from R2 by `withArtifacts`. */
const ARTIFACT_SCHEME = "sparki-artifact:";

/**
 * One orchestrator step's worth of I/O: a Postgres connection opened on first use and closed by
 * `close`, the cache, and the adapters. Made per alarm, because Workers I/O objects cannot
 * outlive the request that made them.
 */
export class Work {
  #connection: Promise<Connection> | undefined;
  #credentials: Record<string, string> | undefined;
  readonly cache: Cache;

  constructor(
    readonly env: Bindings,
    readonly init: ReleaseInit,
    readonly signal: AbortSignal,
  ) {
    const config = configOf(env);
    this.cache = new Cache(config.UPSTASH_REDIS_REST_URL, config.UPSTASH_REDIS_REST_TOKEN, () => undefined, isolateMemo(config.ISOLATE_CACHE_TTL_MS));
  }

  db = async (): Promise<Db> => {
    const config = configOf(this.env);
    this.#connection ??= connect(config.DATABASE_URL, config.NEON_WS_PROXY);
    return (await this.#connection).db;
  };

  async close(): Promise<void> {
    if (this.#connection)
      await this.#connection.then(
        (c) => c.close(),
        () => undefined,
      );
  }

  adapter(stage: StageInit): PlatformAdapter {
    return adapterFor(
      stage.platform,
      {
        bucket: this.env.ARTIFACTS,
        db: this.db,
        cache: this.cache,
        artifactKey: () => stageArtifactKey(this.init, stage),
        siteLimits: siteLimitsOf(configOf(this.env)),
        sitesOrigin: configOf(this.env).SITES_ORIGIN ?? null,
      },
      { env: this.env, db: this.db, script: stage.script, rollbackScript: stage.rollbackScript },
    );
  }

  /** The adapter's credentials from the project's secrets (missing ones are left out; stored ones without SECRETS_KEY fail). */
  async credentials(names: readonly string[]): Promise<Record<string, string>> {
    if (names.length === 0) return {};
    this.#credentials ??= await projectSecrets(configOf(this.env), await this.db(), this.init.projectId, names);
    return this.#credentials;
  }

  async context(stage: StageInit, adapter: PlatformAdapter): Promise<DeployContext> {
    const key = stageArtifactKey(this.init, stage);
    const head = key ? await this.env.ARTIFACTS.head(key) : null;
    return {
      deploymentId: this.init.releaseId,
      projectId: this.init.projectId,
      stage: stage.name,
      commitSha: this.init.commitSha ?? "",
      artifact: {
        url: `${ARTIFACT_SCHEME}${key ?? ""}`,
        kind: head?.customMetadata?.kind === "directory" ? "directory" : "file",
        sha256: null,
        size: head?.size ?? 0,
      },
      env: stage.env,
      credentials: await this.credentials(adapter.credentials),
      settings: stage.settings,
      fetch: this.#fetchFor(adapter),
      signal: this.signal,
    };
  }

  /**
   * The adapter's fetch: the artifact's address reads it from R2; anything else goes only to the
   * platform's documented API (or an admin's override), checked on every call and redirect.
   */
  #fetchFor(adapter: PlatformAdapter): typeof fetch {
    const api = platformFetch(adapter, outboundOf(configOf(this.env)), (url, init) => fetch(url, init));
    return (async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.startsWith(ARTIFACT_SCHEME)) {
        const object = await this.env.ARTIFACTS.get(url.slice(ARTIFACT_SCHEME.length));
        return object ? new Response(object.body, { headers: { "content-length": String(object.size) } }) : new Response("artifact not found", { status: 404 });
      }
      // A platform that never answers must not hold the alarm (and so every timeout) forever.
      const signals = [AbortSignal.timeout(platformCallTimeoutMs), ...(init?.signal ? [init.signal] : [])];
      const request = input instanceof Request ? new Request(input, init) : null;
      return api(url, { ...(request ? { method: request.method, headers: request.headers, body: request.body } : init), signal: AbortSignal.any(signals) });
    }) as typeof fetch;
  }

  /** Every pre-deploy problem of every stage: configuration, artifact, credentials, platform reachable. */
  async validate(): Promise<string[]> {
    const problems: string[] = [];
    for (const stage of this.init.stages) {
      const adapter = this.adapter(stage);
      const prefix = `stage ${stage.name}: `;
      if (stage.strategy !== "all-at-once" && !adapter.route)
        problems.push(`${prefix}${stage.platform} cannot split or switch traffic; use strategy all-at-once`);
      const addresses = addressProblems(stage, adapter, outboundOf(configOf(this.env)));
      problems.push(...addresses.map((p) => prefix + p));
      // A refused address is never asked, not even to validate.
      if (addresses.length > 0) continue;
      try {
        problems.push(...(await adapter.validate(await this.context(stage, adapter))).map((p) => prefix + p));
      } catch (err) {
        problems.push(`${prefix}${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return problems;
  }
}

/** The sites origin that sparki-static health checks address; only steps.ts answers it. */
export const internalSitesOrigin = "http://sparki.internal";

/** The URL a stage's health check asks, for a deployment; null when there is nothing to ask. */
export function healthUrl(stage: StageInit, init: ReleaseInit, deployment: PlatformDeployment): string | null {
  const check = stage.healthCheck;
  if (!check) return null;
  if (check.url) return check.url;
  // sparki-static: the deployment's own host, answered in process by the sites module (steps.ts),
  // never fetched; the site normalises the path, so it can only name one of the site's files.
  if (stage.platform === "sparki-static")
    return `${siteUrl(internalSitesOrigin, { projectId: init.projectId, deploymentId: deployment.id })}${(check.path ?? "/").replace(/^\/+/, "")}`;
  return deployment.url ? new URL(check.path ?? "/", deployment.url).toString() : null;
}

/**
 * One health check: the answer's status against the expected one, within the timeout. Only a
 * sparki-static site (this Worker's own, answered in process) is reported with its exact status
 * and timing; any other address gets pass or fail with the status class (2xx…5xx, unreachable),
 * never its exact status, error text or timing, so a check cannot serve as a probe of a network.
 */
export async function checkHealth(url: string, stage: StageInit, fetcher: (request: Request) => Promise<Response>): Promise<{ ok: boolean; detail: string }> {
  const check = stage.healthCheck;
  if (!check) return { ok: true, detail: "no health check" };
  // A sparki-static check without a url is answered in process by this Worker's own site.
  const exact = stage.platform === "sparki-static" && !check.url;
  const what = `GET ${new URL(url).pathname}`;
  const started = Date.now();
  try {
    const res = await fetcher(new Request(url, { headers: { "user-agent": "sparki-health-check" }, signal: AbortSignal.timeout(check.timeoutSeconds * 1000) }));
    await res.body?.cancel();
    const ok = res.status === check.expectedStatus;
    if (!exact) return { ok, detail: `${what} answered ${statusClass(res.status)}${ok ? "" : `, expected ${check.expectedStatus}`}` };
    return { ok, detail: `${what} answered ${res.status}${ok ? "" : `, expected ${check.expectedStatus}`} in ${Date.now() - started} ms` };
  } catch (err) {
    if (err instanceof OutboundRefused) return { ok: false, detail: `${what} refused: ${err.message}` };
    if (!exact) return { ok: false, detail: `${what}: unreachable` };
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return {
      ok: false,
      detail: timedOut ? `${what} gave no answer within ${check.timeoutSeconds} s` : `${what} failed: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}
