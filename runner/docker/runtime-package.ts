/**
 * Prints the package.json of the runner's image: the packages the bundled runner imports at
 * run time (asked of esbuild's metafile, the same bundle options as dev/bins.ts), each at the
 * version the repository's package.json pins. The image installs only these, against the
 * repository's lockfile, so it holds plain JavaScript and its runtime dependencies, nothing of
 * the Worker's, the CLI's or the tests'. A package the runner imports that is only a
 * devDependency fails here, at build time, instead of in a user's container.
 */
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..", "..");

/** The bare package names (`tar`, `@scope/pkg`) the runner bundle leaves as imports. */
export async function runtimeImports(): Promise<string[]> {
  const result = await build({
    entryPoints: [join(root, "runner", "cli.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    metafile: true,
    write: false,
    outdir: "out",
    logLevel: "silent",
  });
  const names = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || imported.path.startsWith("node:")) continue;
      const parts = imported.path.split("/");
      names.add(imported.path.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? imported.path));
    }
  }
  return [...names].sort();
}

/** The image's package.json: those packages at the repository's pinned versions. */
export async function runtimePackage(): Promise<{ name: string; private: true; type: "module"; dependencies: Record<string, string> }> {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  const dependencies: Record<string, string> = {};
  for (const name of await runtimeImports()) {
    const version = manifest.dependencies[name];
    if (version === undefined) throw new Error(`the runner imports ${name} at run time, but package.json does not list it in "dependencies"`);
    dependencies[name] = version;
  }
  return { name: "sparki-runner-image", private: true, type: "module", dependencies };
}

if (process.argv[1] === import.meta.filename) process.stdout.write(`${JSON.stringify(await runtimePackage(), null, 2)}\n`);
