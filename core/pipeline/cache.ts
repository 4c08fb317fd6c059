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

/** Cache folders for an app's package manager; Yarn Berry keeps its cache in the repo. */
export function cachePaths(app: DetectedApp): string[] {
  if (!app.packageManager) return [];
  const berry =
    app.packageManager === "yarn" && app.packageManagerVersion !== null && app.packageManagerVersion !== "1.x" && !app.packageManagerVersion.startsWith("1.");
  return berry ? [".yarn/cache"] : [...CACHE_PATHS[app.packageManager]];
}

/** Hex SHA-256 with Web Crypto, which Workers, Node and browsers all provide. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
