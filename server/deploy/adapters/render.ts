/**
 * Render through its public REST API (https://api-docs.render.com), base
 * https://api.render.com/v1, with `Authorization: Bearer $RENDER_API_KEY`.
 *
 * Endpoints used, from Render's API reference:
 * - `GET /services/{serviceId}` ("Retrieve service"): the pre-deploy check.
 * - `POST /services/{serviceId}/deploys` ("Trigger deploy"), body
 *   `{ clearCache: "do_not_clear", commitId }`: 201 with the deploy object.
 * - `GET /services/{serviceId}/deploys/{deployId}` ("Retrieve deploy"): its `status`.
 * - `POST /services/{serviceId}/rollback` ("Roll back deploy"), body `{ deployId }`: a new deploy
 *   built from the target deploy's artifact.
 * Errors come as `{ id, message }` with the HTTP status; 429 carries Ratelimit-* headers.
 *
 * How the artifact reaches Render: it does not. Render builds from the service's own repo (or
 * image), so the adapter asks for a deploy with `commitId: ctx.commitSha`, the commit this
 * pipeline built. Render documents `commitId` as unsupported for image-backed services and cron
 * jobs; for those it answers 400 and the orchestrator sees that message.
 */
import { z } from "zod";
import {
  localProblems,
  PlatformError,
  type DeployContext,
  type PlatformAdapter,
  type PlatformDeployment,
  type PlatformState,
} from "../../../core/deploy/adapter.ts";
import { OutboundRefused } from "../../../core/net/outbound.ts";
import { type PlatformCall, PlatformClient } from "../platform-http.ts";
import { parseRetryAfter } from "../retry.ts";

/** The documented base URL; `apiUrl` may name another only if an instance admin allows it (PLATFORM_API_OVERRIDES), as tests do for the fake. */
export const RENDER_API_URL = "https://api.render.com/v1";

/** The secret the adapter reads its API key from. */
export const RENDER_API_KEY = "RENDER_API_KEY";

/** Settings under the stage's target in sparki.yml. */
export const renderSettings = z.strictObject({
  serviceId: z.string().min(1),
  apiUrl: z.url().optional(),
});

/**
 * The deploy statuses Render documents, mapped to the orchestrator's three. `deactivated` is a
 * deploy that was live and has been replaced: it no longer serves, so it is not ready.
 */
const STATE_OF: Record<string, PlatformState> = {
  created: "pending",
  queued: "pending",
  build_in_progress: "pending",
  update_in_progress: "pending",
  pre_deploy_in_progress: "pending",
  live: "ready",
  build_failed: "failed",
  update_failed: "failed",
  pre_deploy_failed: "failed",
  canceled: "failed",
  deactivated: "failed",
};

/** Render's documented error body. */
const renderError = z.object({ id: z.string().optional(), message: z.string() }).loose();
const deploy = z.object({ id: z.string().min(1), status: z.string(), commit: z.object({ id: z.string() }).loose().nullable().optional() }).loose();
const service = z.object({ id: z.string(), name: z.string(), suspended: z.string().optional() }).loose();

function base(ctx: DeployContext): { root: string; serviceId: string } {
  const s = renderSettings.parse(ctx.settings);
  return { root: s.apiUrl ?? RENDER_API_URL, serviceId: s.serviceId };
}

/**
 * How long a 429 asks us to wait: Retry-After if sent, else Render's documented Ratelimit-Reset.
 * That one is epoch seconds on Render; a small value is read as seconds from now, as the IETF
 * RateLimit draft defines it, so either reading never waits for years.
 */
function retryAfterOf(headers: Headers, status: number, now: number): number | null {
  const hinted = parseRetryAfter(headers.get("retry-after"), now);
  if (hinted !== null || status !== 429) return hinted;
  const reset = headers.get("ratelimit-reset");
  if (reset === null || !/^\d+$/.test(reset.trim())) return null;
  const n = Number(reset);
  return n > 1_000_000_000 ? Math.max(0, n * 1000 - now) : n * 1000;
}

/** One REST call through the platform client, with Render's `{ id, message }` error shape. */
function call<T>(ctx: DeployContext, c: PlatformCall<T>): Promise<T> {
  return new PlatformClient(ctx, {
    platform: "render",
    baseUrl: base(ctx).root,
    tokenName: RENDER_API_KEY,
    problemOf: (status, body) => {
      const e = renderError.safeParse(body);
      return status >= 400 && e.success ? { message: e.data.message, ...(e.data.id === undefined ? {} : { code: e.data.id }) } : null;
    },
    retryAfterOf,
  }).request(c);
}

/** The Render adapter: deploys one service at a commit. */
export const renderAdapter: PlatformAdapter = {
  platform: "render",
  apiOrigin: new URL(RENDER_API_URL).origin,
  settings: renderSettings,
  credentials: [RENDER_API_KEY],

  async validate(ctx) {
    const { problems, settings } = localProblems("render", [RENDER_API_KEY], renderSettings, ctx);
    // Without a key or a service id there is nothing meaningful to ask Render.
    if (problems.length > 0 || !settings) return problems;
    const { serviceId } = settings;
    try {
      const svc = await call(ctx, { method: "GET", path: `/services/${encodeURIComponent(serviceId)}`, answer: service, idempotent: true });
      if (svc.suspended === "suspended") problems.push(`render: service ${serviceId} (${svc.name}) is suspended; deploys would not serve`);
    } catch (err) {
      if (err instanceof OutboundRefused) {
        problems.push(err.message);
        return problems;
      }
      if (!(err instanceof PlatformError)) throw err;
      if (err.status === 401 || err.status === 403) problems.push(`${RENDER_API_KEY} was refused by Render (${err.message})`);
      else if (err.status === 404) problems.push(`render: service ${serviceId} not found (${err.message})`);
      else problems.push(err.message);
    }
    return problems;
  },

  async deploy(ctx) {
    const { serviceId } = base(ctx);
    // Sends the commit this pipeline built; the artifact URL stays unused (see the file comment).
    // Not idempotent: each trigger queues a deploy, so only a 429 (refused before acting) is resent.
    const created = await call(ctx, {
      method: "POST",
      path: `/services/${encodeURIComponent(serviceId)}/deploys`,
      json: { clearCache: "do_not_clear", commitId: ctx.commitSha },
      answer: deploy.nullable(),
      idempotent: false,
    });
    // 202 means Render queued it behind a running deploy and answered without a deploy id to track.
    // Not retryable: the queued deploy will still run, and a retry would queue a second one.
    if (!created) throw new PlatformError("render", 202, "deploy queued behind another deploy; Render returned no deploy id to follow");
    // The deploy object carries no URL; the service's URL is on the service, not the deploy.
    return { id: created.id, url: null };
  },

  async state(ctx, deployment) {
    const { serviceId } = base(ctx);
    const d = await call(ctx, {
      method: "GET",
      path: `/services/${encodeURIComponent(serviceId)}/deploys/${encodeURIComponent(deployment.id)}`,
      answer: deploy,
      idempotent: true,
    });
    // A status newer than this list: wait rather than fail on a value Render added later.
    return STATE_OF[d.status] ?? "pending";
  },

  async rollback(ctx, to: PlatformDeployment) {
    const { serviceId } = base(ctx);
    // Not idempotent: a rollback is a new deploy from the target's artifact.
    const d = await call(ctx, {
      method: "POST",
      path: `/services/${encodeURIComponent(serviceId)}/rollback`,
      json: { deployId: to.id },
      answer: deploy,
      idempotent: false,
    });
    // The service keeps its URL across deploys, so the target's URL (if any) still applies.
    return { id: d.id, url: to.url };
  },
};
