/**
 * The planner Worker as one ES module, for the tests' Workers pool: it runs the planner beside the
 * API as an auxiliary Worker, which it takes built (wrangler builds it for `npm run dev` and deploys).
 */
import { build } from "esbuild";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");

/** Bundles planner/index.ts into `outfile`, resolving packages as workerd does. */
export async function buildPlanner(outfile = join(root, ".wrangler", "planner-test", "index.js")): Promise<string> {
  await build({
    entryPoints: [join(root, "planner", "index.ts")],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    logLevel: "error",
  });
  return outfile;
}
