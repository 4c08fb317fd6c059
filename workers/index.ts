import { createApp } from "./app.js";
import { configOf, type Bindings } from "../server/config.js";
import { consumeEvents } from "./queue.js";
import { runScheduled } from "./scheduled.js";
import { createSitesApp } from "./sites/app.js";
import { siteOfHost } from "../server/sites/hosts.js";

export { BuildCoordinator } from "../durable-objects/build-coordinator/object.js";
export { RunnerDispatcher } from "../durable-objects/runner-dispatcher/object.js";
export { Metrics } from "../durable-objects/metrics/object.js";
export { DeploymentOrchestrator } from "../durable-objects/deployment-orchestrator/object.js";
export { StageLock } from "../durable-objects/stage-lock/object.js";

const app = createApp();
const sites = createSitesApp();

/** Paths the API answers on its own origin; everything else there is the dashboard. */
const apiPath = (path: string) => path.startsWith("/v1/") || path.startsWith("/sites/") || path === "/metrics" || path === "/healthz";

/** The sites origin's host, or undefined while the config cannot be read (the API reports that). */
function sitesOrigin(env: Bindings): string | undefined {
  try {
    return configOf(env).SITES_ORIGIN;
  } catch {
    return undefined;
  }
}

export default {
  // wrangler.toml runs the Worker first for every request (`run_worker_first = true`): a request's
  // host decides whether it is a site's, and a site's host must never get the dashboard's files.
  fetch(request: Request, env: Bindings, ctx: ExecutionContext) {
    const url = new URL(request.url);
    if (siteOfHost(sitesOrigin(env), url.host) !== undefined) return sites.fetch(request, env, ctx);
    if (apiPath(url.pathname)) return app.fetch(request, env, ctx);
    // The dashboard's files, with its security headers from web/dist/_headers (web/build.ts).
    return env.ASSETS.fetch(request);
  },
  // The context is part of the handler's contract even where this consumer needs none of it.
  queue: (batch, env, ctx: ExecutionContext) => consumeEvents(batch, env, ctx),
  // The retention sweep, on wrangler.toml's cron.
  scheduled: async (controller, env, _ctx: ExecutionContext) => {
    await runScheduled(controller, env);
  },
} satisfies ExportedHandler<Bindings>;
