/**
 * The benchmarks' Worker entries (bench/<name>/worker.ts) replace Sparki's default export but
 * must still export every Durable Object class their wrangler config binds: the root
 * wrangler.toml, plus bench/<name>/wrangler.toml when there is one. One that does not (bench/api
 * missed DeploymentOrchestrator when it was added) leaves `wrangler dev` up but the Worker never
 * healthy, which took 90 s to find and said nothing about why. This check reads each entry's
 * exports with esbuild (packages left external, so it takes well under a second) and names what
 * is missing.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { parse } from "smol-toml";
import { z } from "zod";

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const projectRoot = fileURLToPath(new URL("..", import.meta.url));
const wranglerConfig = z.object({ durable_objects: z.object({ bindings: z.array(z.object({ class_name: z.string() })) }).optional() });

function boundClasses(file: string): string[] {
  const config = wranglerConfig.parse(parse(readFileSync(file, "utf8")));
  return (config.durable_objects?.bindings ?? []).map((b) => b.class_name);
}

async function exportsOf(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "neutral",
    packages: "external",
    external: ["cloudflare:*", "node:*"],
    outdir: join(benchDir, ".entries-out"),
    logLevel: "silent",
  });
  return Object.values(result.metafile.outputs).flatMap((output) => output.exports);
}

/** One line per benchmark entry that lacks a bound class; none when all is well. */
export async function checkEntries(names: readonly string[]): Promise<string[]> {
  const root = boundClasses(join(projectRoot, "wrangler.toml"));
  const problems: string[] = [];
  for (const name of names) {
    const entry = join(benchDir, name, "worker.ts");
    if (!existsSync(entry)) continue;
    const own = join(benchDir, name, "wrangler.toml");
    const bound = [...root, ...(existsSync(own) ? boundClasses(own) : [])];
    let exported: Set<string>;
    try {
      exported = new Set(await exportsOf(entry));
    } catch (err) {
      // Whatever does not bundle here will not bundle for wrangler either.
      problems.push(`bench/${name}/worker.ts does not build: ${(err instanceof Error ? err.message : String(err)).split("\n").slice(0, 3).join(" ")}`);
      continue;
    }
    const missing = bound.filter((c) => !exported.has(c));
    if (missing.length > 0)
      problems.push(`bench/${name}/worker.ts does not export ${missing.join(", ")}, which its wrangler config binds (re-export them from workers/index.ts)`);
  }
  return problems;
}
