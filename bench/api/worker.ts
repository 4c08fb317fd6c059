/**
 * The API Worker plus a bare Hono route, served by one `wrangler dev`: the baseline runs in the
 * same workerd, the same isolate and behind the same local proxy as the route it is compared with.
 */
import { Hono } from "hono";
import type { Bindings } from "../../server/config.js";
import sparki from "../../workers/index.js";

// Every Durable Object class Sparki's Worker exports (its default export is replaced below): a
// list of names here went stale when DeploymentOrchestrator was added, and wrangler.toml binds them all.
export * from "../../workers/index.js";

const bare = new Hono().get("/__bare/projects/:id", (c) => c.json({ id: c.req.param("id"), name: "bare" }));

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname.startsWith("/__bare/")) return bare.fetch(request);
    return sparki.fetch(request, env, ctx);
  },
  queue: sparki.queue,
} satisfies ExportedHandler<Bindings>;
