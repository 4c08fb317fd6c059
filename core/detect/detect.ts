import { type AppBuilder, DirContext, type EcosystemDetector } from "./app-builder.ts";
import { detectDeno } from "./deno.ts";
import { detectDotnet } from "./dotnet.ts";
import { detectElixir } from "./elixir.ts";
import { detectGo } from "./go.ts";
import { detectJvm } from "./jvm.ts";
import { detectMonorepo } from "./monorepo.ts";
import { detectNode } from "./node.ts";
import { detectPhp } from "./php.ts";
import { applyDeclaredOutput } from "./platform-output.ts";
import { detectPython } from "./python.ts";
import { detectRuby } from "./ruby.ts";
import { detectRust } from "./rust.ts";
import type { Detection, DetectedApp } from "./schema.ts";
import { detectDocker, detectHugo, detectStaticHtml } from "./static.ts";
import { TreeIndex, type FileTree } from "./tree.ts";

/**
 * Ecosystems in tie-break order. The highest confidence wins; on a tie the earlier
 * entry does, which puts server frameworks that own their asset pipeline (Laravel,
 * Rails, Django, Phoenix) ahead of the package.json that builds their assets, and
 * plain HTML and Dockerfiles last, since nearly every project has one of them.
 */
const DETECTORS: ReadonlyArray<readonly [string, EcosystemDetector]> = [
  ["php", detectPhp],
  ["ruby", detectRuby],
  ["python", detectPython],
  ["elixir", detectElixir],
  ["jvm", detectJvm],
  ["dotnet", detectDotnet],
  ["go", detectGo],
  ["rust", detectRust],
  ["node", (ctx) => detectNode(ctx)],
  ["deno", detectDeno],
  ["hugo", detectHugo],
  ["static", detectStaticHtml],
  ["docker", detectDocker],
];

/** Folders never searched for a project: dependencies, VCS/editor metadata, tests and examples. */
const SKIP_DIRS = new Set([
  "node_modules",
  "vendor",
  ".git",
  ".github",
  ".vscode",
  ".idea",
  "test",
  "tests",
  "__tests__",
  "fixtures",
  "examples",
  "e2e",
  "target",
  "dist",
  "build",
]);

/** How deep below the root a lone project is looked for (`web/`, `apps/site/`). */
const SUBFOLDER_DEPTH = 2;

/** Runs every ecosystem on one folder and keeps the most confident answer. */
export async function detectDirectory(index: TreeIndex, dir: string): Promise<AppBuilder | null> {
  const ctx = new DirContext(index, dir);
  const found: Array<{ ecosystem: string; app: AppBuilder }> = [];
  for (const [ecosystem, detector] of DETECTORS) {
    const app = await detector(ctx);
    if (app) found.push({ ecosystem, app });
  }
  let best = found[0];
  for (const f of found) if (best && f.app.confidence > best.app.confidence) best = f;
  if (!best) return null;
  await applyDeclaredOutput(ctx, best.app);
  for (const other of found) {
    if (other === best) continue;
    const otherFile = other.app.build().evidence.find((e) => e.field === "project")?.file ?? null;
    best.app.note(
      "project",
      otherFile,
      `also looks like ${other.ecosystem} (${other.app.framework ?? "no framework"}, confidence ${other.app.confidence}); ${best.ecosystem} (${best.app.framework ?? "no framework"}) is more certain or takes precedence`,
    );
  }
  return best.app;
}

function unknown(reason: string, apps: DetectedApp[] = []): Detection {
  return {
    path: ".",
    name: null,
    cwd: ".",
    language: null,
    framework: null,
    packageManager: null,
    packageManagerVersion: null,
    lockfile: null,
    runtime: null,
    commands: { install: null, lint: null, test: null, build: null, start: null },
    outputDir: null,
    confidence: 0,
    evidence: [{ field: "project", file: null, reason }],
    apps,
    reason,
  };
}

async function subfolderProjects(index: TreeIndex, dir: string, depth: number): Promise<AppBuilder[]> {
  const out: AppBuilder[] = [];
  for (const name of index.dirsIn(dir)) {
    if (SKIP_DIRS.has(name) || name.startsWith(".")) continue;
    const sub = dir === "." ? name : `${dir}/${name}`;
    const app = await detectDirectory(index, sub);
    if (app) out.push(app);
    else if (depth > 1) out.push(...(await subfolderProjects(index, sub, depth - 1)));
  }
  return out;
}

/**
 * Detects what a repository is and how to build it. Pure: everything is read
 * through `tree`, so it runs the same in a Worker, the runner and the CLI.
 *
 * Order: a monorepo root (workspaces, Turborepo, Nx) with one entry per app; else
 * the project at the root; else a lone project in a subfolder (reported with its
 * `path`), or several (listed in `apps`); else null fields with a `reason`.
 */
export async function detect(tree: FileTree): Promise<Detection> {
  const index = await TreeIndex.of(tree);
  if (index.paths.length === 0) return unknown("the repository is empty");

  const mono = await detectMonorepo(index);
  if (mono) {
    const app = mono.root.framework === null ? await rootApp(index, mono.apps) : null;
    if (app) return { ...app.build(), apps: [], reason: null };
    await applyDeclaredOutput(new DirContext(index, "."), mono.root);
    return { ...mono.root.build(), apps: mono.apps, reason: null };
  }

  const root = await detectDirectory(index, ".");
  if (root) {
    if (index.has("pnpm-workspace.yaml")) {
      root.note("project", "pnpm-workspace.yaml", "pnpm-workspace.yaml lists no packages: it holds pnpm settings, so this is one project, not a workspace");
    }
    if (index.has("nx.json") && index.has("project.json")) {
      root.note("project", "project.json", "project.json at the root: a standalone Nx workspace, one app that Nx builds");
    }
    return { ...root.build(), apps: [], reason: null };
  }

  const nested = await subfolderProjects(index, ".", SUBFOLDER_DEPTH);
  const [only] = nested;
  if (only && nested.length === 1) {
    only.note("project", null, `nothing to build at the root; the project lives in ${only.path}/`);
    return { ...only.build(), apps: [], reason: null };
  }
  if (nested.length > 1) {
    const paths = nested.map((n) => n.path).join(", ");
    return unknown(
      `no project at the root and no workspace manifest; ${nested.length} projects in subfolders: ${paths}`,
      nested.map((n) => n.build()),
    );
  }
  const broken = await unreadableManifest(index);
  if (broken) return unknown(broken);
  const sample = index.paths.slice(0, 3).join(", ");
  return unknown(
    `no manifest the detector knows (package.json, pyproject.toml, requirements.txt, Gemfile, go.mod, Cargo.toml, pom.xml, build.gradle, *.csproj, composer.json, mix.exs, deno.json, a Hugo/Jekyll config, index.html or Dockerfile) among ${index.paths.length} files (${sample}${index.paths.length > 3 ? ", …" : ""})`,
  );
}

/**
 * The root of a workspace without a monorepo tool that is itself an app (its package.json
 * depends on an app framework, as a Nuxt site with a `proxy` member does): the root is what
 * deploys, so it is reported as the project, the members named in its evidence.
 */
async function rootApp(index: TreeIndex, members: readonly DetectedApp[]): Promise<AppBuilder | null> {
  const ctx = new DirContext(index, ".");
  const app = await detectNode(ctx);
  // 0.95 is the Node detector's "dependency and the framework's own config file agree": a root
  // that only lists vite for its tests (vitest) beside an app in a member folder is not the app.
  if (!app || app.framework === null || app.framework === "node" || app.framework === "bun" || app.confidence < 0.95) return null;
  app.note(
    "project",
    index.has("pnpm-workspace.yaml") ? "pnpm-workspace.yaml" : "package.json",
    `a workspace whose root is itself a ${app.framework} app${members.length > 0 ? ` (members: ${members.map((m) => m.path).join(", ")})` : ""}; the root install covers the members`,
  );
  await applyDeclaredOutput(ctx, app);
  return app;
}

/** A JSON manifest at the root that exists but does not parse, said plainly: it is the likeliest mistake. */
async function unreadableManifest(index: TreeIndex): Promise<string | null> {
  // deno.json may hold comments (JSONC), so only the strict JSON manifests are checked.
  for (const name of ["package.json", "composer.json"]) {
    const text = await index.read(name);
    if (text === null) continue;
    try {
      JSON.parse(text);
    } catch (err) {
      return `${name} is not valid JSON (${err instanceof Error ? err.message : String(err)}); fix it so Sparki can read it`;
    }
  }
  return null;
}
