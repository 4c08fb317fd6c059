/**
 * The `sparki` CLI and the `sparki-runner` agent as plain JavaScript (`cli/dist/`, `runner/dist/`),
 * bundled by esbuild: what the npm packages ship (each package's `prepack` runs
 * `tsx ../dev/bins.ts <cli|runner>`) and what the test suite starts (test/global-setup-node.ts builds
 * both once; tsx would cost about 0.4 s of CPU at each of a few hundred starts).
 *
 * Everything is bundled in, our code (only cli/ and runner/ are packages) and the npm packages too:
 * Node resolving and reading the hundred-odd files of zod, commander, yaml, ws and tar took a third
 * of a start's CPU (bench/cli). Only Ink and React stay imports, the package's `dependencies`: the
 * TUI's chunk loads them on demand, and React must be the one copy Ink uses. The packages' licenses
 * go beside the bundle in dist/THIRD-PARTY-LICENSES.txt. Split chunks keep what is loaded on demand
 * (the TUI, the detector) out of every other command.
 */
import { build, type Metafile } from "esbuild";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
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

/** Left as imports: the packages' dependencies. */
const kept = ["ink", "react"];
/** ws's optional native speed-ups, required inside a try: used when installed beside it, never needed. */
const optionalNative = ["bufferutil", "utf-8-validate"];
export const licensesFile = "THIRD-PARTY-LICENSES.txt";

interface Manifest {
  name: string;
  version: string;
  license?: string;
  dependencies?: Record<string, string>;
}
const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(projectRoot, dir, "package.json"), "utf8")) as Manifest;

/** Writes beside the place and renames over it: other tests may be starting the bins meanwhile. */
function writeAtomically(path: string, contents: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

/** The npm packages bundled in (from the metafile's inputs), each with its license text. */
function licenses(metafile: Metafile): string {
  const dirs = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1]) dirs.add(resolve(projectRoot, match[1]));
  }
  const sections = [...dirs].sort().map((dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
    const file = readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    const text = file ? readFileSync(join(dir, file), "utf8").trim() : `(no license file; package.json says ${pkg.license ?? "nothing"})`;
    return `${pkg.name}@${pkg.version} (${pkg.license ?? "see below"})\n\n${text}`;
  });
  return `The npm packages bundled into these files, and their licenses.\n\n${sections.join(`\n\n${"-".repeat(72)}\n\n`)}\n`;
}

/** Bundles one package into its `dist/`; a failed build throws with esbuild's messages. */
async function bundle(pkg: BinPackage): Promise<{ metafile: Metafile; files: string[] }> {
  const { entry, bundle: out } = binPackages[pkg];
  const result = await build({
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: [...kept, ...kept.map((name) => `${name}/*`), ...optionalNative],
    define: { SPARKI_VERSION: JSON.stringify(manifest(pkg).version) },
    // The CommonJS packages (commander, ws) call require(), for Node's modules too: give them one.
    banner: { js: `#!/usr/bin/env node\nimport { createRequire as __sparkiRequire } from "node:module";\nconst require = __sparkiRequire(import.meta.url);` },
    logLevel: "warning",
    metafile: true,
    write: false,
    entryPoints: { [out]: join(projectRoot, pkg, entry) },
    outdir: join(projectRoot, pkg, "dist"),
    // The chunks' names hash their contents, which name source paths relative to the working
    // directory: npm runs `prepack` in the package's folder, the suite at the root. Without this,
    // packing renamed every chunk and deleted the ones a running `sparki` was about to import.
    absWorkingDir: projectRoot,
  });
  for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
  writeAtomically(join(projectRoot, pkg, "dist", licensesFile), licenses(result.metafile));
  return { metafile: result.metafile, files: [...result.outputFiles.map((file) => basename(file.path)), licensesFile] };
}

/** The bare package names (`ink`, `@scope/pkg`) a bundle leaves as imports, static or dynamic. */
export function bundleImports(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || isBuiltin(imported.path)) continue;
      const parts = imported.path.split("/");
      const name = imported.path.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? imported.path);
      if (!optionalNative.includes(name)) names.add(name);
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
    if (!imports.includes(name)) problems.push(`${name}: in ${pkg}/package.json but the bundle never imports it (bundled in, or unused)`);
  }
  return problems;
}

/** Builds both (a second or two). */
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
