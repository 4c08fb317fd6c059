/**
 * The API Worker plus a bare Hono route, served by one `wrangler dev`: the baseline runs in the
 * same workerd, the same isolate and behind the same local proxy as the route it is compared with.
 */
import { Hono } from "hono";
import sparki from "../../workers/index.js";

// The Durable Objects wrangler.toml binds must be exported by whichever entry runs.
export { BuildCoordinator, Metrics, RunnerDispatcher } from "../../workers/index.js";
import type { Bindings } from "../../server/config.js";

const bare = new Hono().get("/__bare/projects/:id", (c) => c.json({ id: c.req.param("id"), name: "bare" }));

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname.startsWith("/__bare/")) return bare.fetch(request);
    return sparki.fetch(request, env, ctx);
  },
  queue: sparki.queue,
} satisfies ExportedHandler<Bindings>;
