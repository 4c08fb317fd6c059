/**
 * bench/deploy's Worker: Sparki's API Worker and all its Durable Objects, plus one route that does
 * the least a sparki-static deployment must do, served by the same `wrangler dev` (the same
 * workerd, R2, Postgres proxy and cache) as the deployments it is compared with:
 *
 *   POST /v1/__bench/deploy  { projectId, buildId, artifact, stage }            publish + switch
 *   POST /v1/__bench/deploy  { projectId, buildId, artifact, stage, switchTo }  switch only
 *
 * "Publish + switch" is the sparki-static adapter's own deploy (unpack the build's .tar.gz into R2
 * under a fresh deployment id) and route at 100 % (read the alias, switch it in Postgres, drop the
 * cache entry), called straight from the request: no queue, no release rows, no orchestrator, no
 * validation, no health check, no event history or Postgres sync. "Switch only" is the adapter's
 * rollback: one alias switch. Under /v1/ because the Worker hands only
 * the API's paths to the API (everything else on its host is the dashboard). Local benchmark only:
 * there is no authentication on this route.
 */
import { Work } from "../../durable-objects/deployment-orchestrator/work.js";
import type { ReleaseInit, StageInit } from "../../server/objects/deployment-orchestrator/protocol.js";
import sparki from "../../workers/index.js";
import type { Bindings } from "../../server/config.js";

// Every Durable Object class Sparki's Worker exports (its default export is replaced below).
export * from "../../workers/index.js";

interface MinimalDeploy {
  projectId: string;
  buildId: string;
  artifact: string;
  stage: string;
  /** Switch the stage's alias to this existing deployment instead of publishing a new one. */
  switchTo?: string;
}

async function minimalDeploy(request: Request, env: Bindings): Promise<Response> {
  const body = (await request.json()) as MinimalDeploy;
  const started = Date.now();
  const deploymentId = body.switchTo ?? crypto.randomUUID();
  const stage: StageInit = {
    attemptId: deploymentId,
    name: body.stage,
    platform: "sparki-static",
    strategy: "all-at-once",
    approval: false,
    approverRoles: ["owner", "admin"],
    healthCheck: null,
    healthyThreshold: 1,
    unhealthyThreshold: 1,
    trafficSteps: [100],
    pauseMs: 0,
    settings: {},
    env: {},
    artifact: body.artifact,
    previous: null,
    script: null,
    rollbackScript: null,
  };
  const init: ReleaseInit = {
    releaseId: deploymentId,
    projectId: body.projectId,
    workspaceId: crypto.randomUUID(),
    buildId: body.buildId,
    commitSha: null,
    branch: "main",
    trigger: "manual",
    pullRequest: null,
    actorId: null,
    createdAt: started,
    stages: [stage],
  };
  const abort = new AbortController();
  const work = new Work(env, init, abort.signal);
  try {
    const adapter = work.adapter(stage);
    if (!adapter?.route) throw new Error("no sparki-static adapter");
    const ctx = await work.context(stage, adapter);
    if (body.switchTo) await adapter.rollback(ctx, { id: body.switchTo, url: null });
    else await adapter.route(ctx, await adapter.deploy(ctx), 100);
  } finally {
    abort.abort();
    await work.close();
  }
  return Response.json({ deploymentId, ms: Date.now() - started });
}

/**
 * Every delivery of a `build.completed` message to the queue consumer, noted before Sparki's
 * consumer handles it (locally the queue consumer and fetch share this isolate):
 *   GET /v1/__bench/deliveries?build=ID  → [{ attempts, at }]
 */
const deliveries = new Map<string, { attempts: number; at: number }[]>();

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/v1/__bench/deploy") return minimalDeploy(request, env);
    if (url.pathname === "/v1/__bench/deliveries") return Response.json(deliveries.get(url.searchParams.get("build") ?? "") ?? []);
    return sparki.fetch(request, env, ctx);
  },
  queue(batch, env, ctx) {
    const at = Date.now();
    for (const message of batch.messages) {
      const body = message.body as { type?: string; buildId?: string };
      if (body?.type !== "build.completed" || !body.buildId) continue;
      const list = deliveries.get(body.buildId) ?? [];
      list.push({ attempts: message.attempts, at });
      deliveries.set(body.buildId, list);
    }
    return sparki.queue(batch, env, ctx);
  },
} satisfies ExportedHandler<Bindings>;
