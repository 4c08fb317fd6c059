/**
 * bench/logs' Worker: Sparki's API Worker and all its Durable Objects, plus the LogRelay
 * baseline, served by one `wrangler dev` (the root wrangler.toml plus bench/logs/wrangler.toml,
 * see config.ts), so the relay runs in the same workerd, behind the same local proxy, as the
 * BuildCoordinator it is compared with.
 *   /__relay/:name/producer  the relay's producer socket
 *   /__relay/:name/viewer    a viewer socket
 */
import sparki from "../../workers/index.js";
import type { Bindings } from "../../server/config.js";
import type { LogRelay } from "./relay.js";

// Every Durable Object class Sparki's Worker exports (its default export is replaced below).
export * from "../../workers/index.js";
export { LogRelay } from "./relay.js";

type Env = Bindings & { LOG_RELAY: DurableObjectNamespace<LogRelay> };

export default {
  fetch(request, env, ctx) {
    const relay = /^\/__relay\/([\w-]{1,64})\/(producer|viewer)$/.exec(new URL(request.url).pathname);
    if (relay) return env.LOG_RELAY.get(env.LOG_RELAY.idFromName(relay[1] as string)).fetch(request);
    return sparki.fetch(request, env, ctx);
  },
  queue: sparki.queue,
} satisfies ExportedHandler<Env>;
