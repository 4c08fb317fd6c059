/**
 * `npm run build:bins`: the `sparki` CLI and the `sparki-runner` agent as plain JavaScript
 * (`cli/dist/`, `runner/dist/`), bundled by esbuild. `cli/bin.js` and `runner/bin.js` compile the
 * TypeScript at every start with tsx, which costs about 0.4 s of CPU per run; the test suite starts
 * the CLI and runners a few hundred times, so it builds these once (test/global-setup-node.ts)
 * and starts them instead. Packages stay imports (resolved from node_modules), and the split
 * chunks keep what is loaded on demand (the TUI's Ink and React) out of every other command.
 */
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const projectRoot = resolve(import.meta.dirname, "..");

export const sparkiBin = join(projectRoot, "cli", "dist", "sparki.js");
export const runnerBundleBin = join(projectRoot, "runner", "dist", "sparki-runner.js");

const version = (JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { version: string }).version;

/** Builds both (about a second); a failed build throws with esbuild's messages. */
export async function buildBins(): Promise<void> {
  const common = {
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    define: { SPARKI_VERSION: JSON.stringify(version) },
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
  } as const;
  await Promise.all([
    build({ ...common, entryPoints: { sparki: join(projectRoot, "cli", "main.ts") }, outdir: join(projectRoot, "cli", "dist") }),
    build({ ...common, entryPoints: { "sparki-runner": join(projectRoot, "runner", "cli.ts") }, outdir: join(projectRoot, "runner", "dist") }),
  ]);
}

if (process.argv[1] === import.meta.filename) await buildBins();
