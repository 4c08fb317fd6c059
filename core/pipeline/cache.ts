import type { DetectedApp, PackageManager } from "../detect/schema.ts";

/** Where each package manager keeps downloads, relative to the runner's home (~) or the job's folder. */
const CACHE_PATHS: Readonly<Record<PackageManager, readonly string[]>> = {
  npm: ["~/.npm"],
  pnpm: ["~/.local/share/pnpm/store"],
  yarn: ["~/.cache/yarn"],
  bun: ["~/.bun/install/cache"],
  deno: ["~/.cache/deno"],
  pip: ["~/.cache/pip"],
  poetry: ["~/.cache/pypoetry"],
  uv: ["~/.cache/uv"],
  pipenv: ["~/.cache/pipenv"],
  bundler: ["vendor/bundle"],
  go: ["~/go/pkg/mod", "~/.cache/go-build"],
  cargo: ["~/.cargo/registry", "~/.cargo/git", "target"],
  maven: ["~/.m2/repository"],
  gradle: ["~/.gradle/caches", "~/.gradle/wrapper"],
  dotnet: ["~/.nuget/packages"],
  composer: ["~/.cache/composer"],
  mix: ["deps", "_build"],
};

/**
 * The runtime whose version keys each package manager's cache: a download made under one
 * Node or Python can differ from another's (native modules, wheels). The runner asks the
 * runtime for its version from a fixed table (runner/cache-key.ts), never from the job.
 */
const RUNTIMES: Readonly<Record<PackageManager, string>> = {
  npm: "node",
  pnpm: "node",
  yarn: "node",
  bun: "bun",
  deno: "deno",
  pip: "python",
  poetry: "python",
  uv: "python",
  pipenv: "python",
  bundler: "ruby",
  go: "go",
  cargo: "rust",
  maven: "java",
  gradle: "java",
  dotnet: "dotnet",
  composer: "php",
  mix: "elixir",
};

/** The runtime named in an app's cache key, or null without a package manager. */
export function cacheRuntime(app: DetectedApp): string | null {
  return app.packageManager ? RUNTIMES[app.packageManager] : null;
}

/** What the runner puts in front of every key and prefix: `linux-x64-node22.11.0`. */
export function cacheEnvironment(os: string, arch: string, runtimeVersion: string | null): string {
  const clean = (v: string) => v.replace(/[^A-Za-z0-9._+-]+/g, "_").slice(0, 64);
  return [clean(os), clean(arch), clean(runtimeVersion ?? "any")].join("-");
}

/**
 * A pipeline's key and prefixes as the runner looks them up: OS, architecture and runtime
 * version first, so that no prefix reaches an entry made for another platform.
 */
export function environmentKeys(cache: { key: string; restoreKeys: readonly string[] }, environment: string): { key: string; restoreKeys: string[] } {
  return { key: `${environment}/${cache.key}`, restoreKeys: cache.restoreKeys.map((prefix) => `${environment}/${prefix}`) };
}

/** Cache folders for an app's package manager; Yarn Berry keeps its cache in the repo. */
export function cachePaths(app: DetectedApp): string[] {
  if (!app.packageManager) return [];
  const berry =
    app.packageManager === "yarn" && app.packageManagerVersion !== null && app.packageManagerVersion !== "1.x" && !app.packageManagerVersion.startsWith("1.");
  return berry ? [".yarn/cache"] : [...CACHE_PATHS[app.packageManager]];
}

/**
 * What an install leaves that the later jobs of a build need, relative to the install's folder (or
 * `~`): those jobs skip their install when these are in place (runner/install-share.ts). Only
 * where the install writes nowhere else and its result can move: pip, Poetry, Pipenv, Maven,
 * Gradle and .NET install into the runtime's or a tool's own folders, so their jobs keep
 * installing (from the cache).
 */
const INSTALL_PATHS: Readonly<Partial<Record<PackageManager, readonly string[]>>> = {
  npm: ["node_modules"],
  pnpm: ["node_modules"],
  bun: ["node_modules"],
  // Not uv's .venv: its scripts' shebangs name the folder it was made in, another runner's.
  bundler: ["vendor/bundle"],
  composer: ["vendor"],
  go: ["~/go/pkg/mod"],
  mix: ["deps"],
};

/** An app's install output paths (see INSTALL_PATHS), or null when its jobs must each install. */
export function installPaths(app: DetectedApp): string[] | null {
  if (!app.packageManager) return null;
  if (app.packageManager === "yarn") {
    const berry = app.packageManagerVersion !== null && app.packageManagerVersion !== "1.x" && !app.packageManagerVersion.startsWith("1.");
    // Berry's Plug'n'Play keeps its map beside the cache; its node_modules linker makes node_modules.
    return berry ? ["node_modules", ".pnp.cjs", ".pnp.loader.mjs", ".yarn/unplugged", ".yarn/install-state.gz"] : ["node_modules"];
  }
  const paths = INSTALL_PATHS[app.packageManager];
  return paths ? [...paths] : null;
}

/** Package managers whose install result serves any build of the same lockfile (see installKey in generate.ts). */
export const PORTABLE_INSTALLS: ReadonlySet<PackageManager> = new Set(["npm", "pnpm", "yarn", "bun", "bundler", "go"]);

const LIFECYCLE = ["preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare"];

/**
 * Whether a package.json runs scripts of its own when installed: what they make may lie outside
 * node_modules (a git hook, generated code), so their install is shared within a build only.
 * A manifest that does not parse counts as running them.
 */
export function runsInstallScripts(packageJson: string | null): boolean {
  if (packageJson === null) return false;
  try {
    const scripts = (JSON.parse(packageJson) as { scripts?: unknown }).scripts;
    return typeof scripts === "object" && scripts !== null && LIFECYCLE.some((name) => name in scripts);
  } catch {
    return true;
  }
}

/** Hex SHA-256 with Web Crypto, which Workers, Node and browsers all provide. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
