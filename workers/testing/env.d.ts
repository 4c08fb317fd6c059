import type { Bindings } from "../../server/config.js";

declare global {
  namespace Cloudflare {
    // The bindings the Workers vitest pool gives tests, as wrangler.toml and vitest.config.ts declare them.
    interface Env extends Bindings {}
  }
}
