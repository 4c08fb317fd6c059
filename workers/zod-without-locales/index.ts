/**
 * "zod" as the Worker bundle sees it (wrangler.toml [alias]): zod's own entry less the parts the
 * Worker never calls. zod's entry re-exports its namespace as a value (`export { z }`), and
 * @hono/zod-openapi hands that value to extendZodWithOpenApi, so esbuild keeps every export of it:
 * every locale's messages (`locales`, and again under `core`), the JSON Schema converters
 * (`toJSONSchema`, `fromJSONSchema`) and the schema compiler (`compile`, `withParser`, `INVALID` and
 * its two errors): 300 KiB raw, 50 KiB gzip of the bundle (docs/PERFORMANCE.md). English messages
 * stay: zod's schemas register them. Types, typechecks and the Node and workerd tests take "zod"
 * itself; only wrangler's bundle (deploy, `npm run dev`, the end-to-end tests) takes this.
 * index.node.test.ts fails when zod's entry gains or loses a name, or bundled code uses one left out.
 */
import * as z from "./exports.ts";

export * from "./exports.ts";
export { z, z as default };
