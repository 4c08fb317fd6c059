/**
 * The planner Worker as one ES module, for the tests' Workers pool: it runs the planner beside the
 * API as an auxiliary Worker, which it takes built (wrangler builds it for `npm run dev` and deploys).
 */
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { z } from "zod";

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

const PlannerConfig = z.object({ name: z.string(), compatibility_date: z.string(), compatibility_flags: z.array(z.string()).default([]) });

/** The planner as a Miniflare Worker, built, with the name and compatibility planner/wrangler.toml gives it. */
export async function plannerWorker() {
  const config = PlannerConfig.parse(parse(readFileSync(join(root, "planner", "wrangler.toml"), "utf8")));
  return {
    name: config.name,
    modules: true,
    scriptPath: await buildPlanner(),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
  };
}
