/**
 * The orchestrator's requests to addresses a tenant configured, under core/net/outbound.ts:
 * platform APIs only at their documented origin (or an admin's override), health checks only at
 * https public hosts (loopback too in development), every redirect hop checked. Checked once when
 * the deployment is validated, so a bad address fails it before anything deploys, and again right
 * before each request.
 */
import type { PlatformAdapter } from "../../core/deploy/adapter.ts";
import { fetchChecked, OutboundRefused, outboundProblem, platformApiProblem, type OutboundPolicy } from "../../core/net/outbound.ts";
import type { Config } from "../../server/config.js";
import type { StageInit } from "../../server/objects/deployment-orchestrator/protocol.js";

export interface Outbound extends OutboundPolicy {
  /** PLATFORM_API_OVERRIDES, parsed. */
  apiOverrides: readonly string[];
}

export function outboundOf(config: Pick<Config, "ALLOW_LOCAL_OUTBOUND" | "PLATFORM_API_OVERRIDES">): Outbound {
  return { development: config.ALLOW_LOCAL_OUTBOUND, apiOverrides: config.PLATFORM_API_OVERRIDES };
}

/** Why a request of `adapter` to `url` is refused, or null. Adapters without an API origin call none. */
export function platformUrlProblem(adapter: PlatformAdapter, url: URL, outbound: Outbound): string | null {
  if (!adapter.apiOrigin) return `${adapter.platform} calls no API`;
  return platformApiProblem(url, adapter.apiOrigin, outbound.apiOverrides);
}

/** The stage's addresses checked before anything deploys: its adapter's `apiUrl` and its health check's `url`. */
export function addressProblems(stage: StageInit, adapter: PlatformAdapter, outbound: Outbound): string[] {
  const problems: string[] = [];
  const apiUrl = stage.settings.apiUrl;
  if (typeof apiUrl === "string" && adapter.apiOrigin) {
    let problem: string | null;
    try {
      problem = platformUrlProblem(adapter, new URL(apiUrl), outbound);
    } catch {
      problem = "is not a URL";
    }
    if (problem) problems.push(`${stage.platform} apiUrl ${safeOrigin(apiUrl)} ${problem}`);
  }
  const healthUrl = stage.healthCheck?.url;
  if (healthUrl) {
    const problem = outboundProblem(healthUrl, outbound);
    if (problem) problems.push(`health check URL ${safeOrigin(healthUrl)} ${problem}`);
  }
  return problems;
}

/** An address as it may appear in events: its origin, without credentials or path. */
function safeOrigin(raw: string): string {
  try {
    const url = new URL(raw);
    return url.origin === "null" ? url.protocol : url.origin;
  } catch {
    return "(not a URL)";
  }
}

/** fetch for a platform's API: its origin checked on every call and every redirect hop. */
export function platformFetch(adapter: PlatformAdapter, outbound: Outbound, fetcher: (url: string, init: RequestInit) => Promise<Response>) {
  return (url: string, init: RequestInit): Promise<Response> => fetchChecked(url, init, (u) => platformUrlProblem(adapter, u, outbound), fetcher);
}

/**
 * One health-check request to a URL outside this Worker. A redirect is followed only to an
 * allowed address, and only when the check does not expect a redirect itself.
 */
export function healthFetch(plan: StageInit, outbound: Outbound) {
  const expected = plan.healthCheck?.expectedStatus ?? 200;
  return (request: Request): Promise<Response> =>
    fetchChecked(
      request.url,
      { method: "GET", headers: request.headers, signal: request.signal },
      (u) => outboundProblem(u, outbound),
      (url, init) => fetch(url, init),
      {
        follow: expected < 300 || expected >= 400,
      },
    );
}

export { OutboundRefused };
