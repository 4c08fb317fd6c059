/**
 * The `sparki` CLI and the `sparki-runner` agent as plain JavaScript (`cli/dist/`, `runner/dist/`),
 * bundled by esbuild: what the npm packages ship (each package's `prepack` runs
 * `tsx ../dev/bins.ts <cli|runner>`) and what the test suite starts (test/global-setup-node.ts builds
 * both once; tsx would cost about 0.4 s of CPU at each of a few hundred starts).
 *
 * Our own code (cli/, runner/, node/, core/) is bundled in, since only cli/ and runner/ are packages;
 * npm packages stay imports, resolved from the package's own `dependencies`. The split chunks keep
 * what is loaded on demand (the TUI's Ink and React, the detector) out of every other command.
 */
import { build, type Metafile } from "esbuild";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

const projectRoot = resolve(import.meta.dirname, "..");

/** The two packages: their folder, the TypeScript entry and the bundle's name in `dist/`. */
export const binPackages = {
  cli: { name: "sparki", entry: "main.ts", bundle: "sparki" },
  runner: { name: "sparki-runner", entry: "cli.ts", bundle: "sparki-runner" },
} as const;
export type BinPackage = keyof typeof binPackages;

export const sparkiBin = join(projectRoot, "cli", "dist", "sparki.js");
export const runnerBundleBin = join(projectRoot, "runner", "dist", "sparki-runner.js");

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
}
const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(projectRoot, dir, "package.json"), "utf8")) as Manifest;

/**
 * Bundles one package into its `dist/`; a failed build throws with esbuild's messages. Each file is
 * written beside its place and renamed over it: tests (and `npm pack` in test/e2e/packages.test.ts)
 * rebuild while other tests start the bins, which must never read a half-written file.
 */
async function bundle(pkg: BinPackage): Promise<{ metafile: Metafile; files: string[] }> {
  const { entry, bundle: out } = binPackages[pkg];
  const result = await build({
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    define: { SPARKI_VERSION: JSON.stringify(manifest(pkg).version) },
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
    metafile: true,
    write: false,
    entryPoints: { [out]: join(projectRoot, pkg, entry) },
    outdir: join(projectRoot, pkg, "dist"),
  });
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
  return { metafile: result.metafile, files: result.outputFiles.map((file) => basename(file.path)) };
}

/** The bare package names (`tar`, `@scope/pkg`) a bundle leaves as imports, static or dynamic. */
export function bundleImports(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || imported.path.startsWith("node:")) continue;
      const parts = imported.path.split("/");
      names.add(imported.path.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? imported.path));
    }
  }
  return [...names].sort();
}

/**
 * What is wrong with a package's `dependencies` for its bundle: each import must be listed at the
 * version the root pins (the one the tests ran against), and nothing else (it would be installed
 * on every user's machine for nothing). Empty when they match.
 */
export function dependencyProblems(pkg: BinPackage, imports: string[]): string[] {
  const root = manifest(".").dependencies ?? {};
  const declared = manifest(pkg).dependencies ?? {};
  const problems: string[] = [];
  for (const name of imports) {
    if (root[name] === undefined) problems.push(`${name}: imported at run time but not in the root's "dependencies"`);
    else if (declared[name] !== root[name])
      problems.push(`${name}: ${pkg}/package.json must pin ${root[name]} (the root's), has ${declared[name] ?? "nothing"}`);
  }
  for (const name of Object.keys(declared)) {
    if (!imports.includes(name)) problems.push(`${name}: in ${pkg}/package.json but the bundle never imports it`);
  }
  return problems;
}

/** Builds both (about a second). */
export async function buildBins(): Promise<void> {
  await Promise.all([bundle("cli"), bundle("runner")]);
}

/**
 * `prepack`: builds one package, removes the chunks of earlier builds from its `dist/` (npm packs
 * the whole folder), and refuses to pack it when its dependencies do not match the bundle. The old
 * chunks go after the build, not before, so a test already running from `dist/` keeps its files.
 */
export async function buildForPack(pkg: BinPackage): Promise<void> {
  const { metafile, files } = await bundle(pkg);
  const dist = join(projectRoot, pkg, "dist");
  for (const file of readdirSync(dist)) if (!files.includes(file)) rmSync(join(dist, file), { recursive: true, force: true });
  const problems = dependencyProblems(pkg, bundleImports(metafile));
  if (problems.length > 0) throw new Error(`${pkg}/package.json "dependencies" do not match the bundle:\n  ${problems.join("\n  ")}`);
}

if (process.argv[1] === import.meta.filename) {
  const wanted = process.argv[2];
  if (wanted === undefined) await buildBins();
  else if (wanted in binPackages) await buildForPack(wanted as BinPackage);
  else throw new Error(`dev/bins.ts [${Object.keys(binPackages).join("|")}]: unknown package ${wanted}`);
}
