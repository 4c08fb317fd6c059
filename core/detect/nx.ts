import { AppBuilder, type DirContext } from "./app-builder.ts";
import type { DetectedFramework } from "./frameworks.ts";
import { dig, isTable, type Table } from "./manifest.ts";
import type { ScriptRunner } from "./node-package-manager.ts";

/** Which framework an Nx build executor belongs to; null means "look at the root's dependencies". */
const EXECUTORS: ReadonlyArray<readonly [RegExp, DetectedFramework | null]> = [
  [/^@nx\/next:/, "nextjs"],
  [/^@nx\/remix:/, "remix"],
  [/^@nx\/vite:/, "vite"],
  [/^(@nx\/angular|@angular-devkit\/build-angular|@angular\/build):/, "angular"],
  [/^@nx\/(webpack|esbuild|js|node|rollup):/, null],
];

/** Config files that make Nx infer a build target (Nx 18+ plugins), in precedence order. */
const INFERRED: ReadonlyArray<readonly [string, DetectedFramework]> = [
  ["next.config", "nextjs"],
  ["remix.config", "remix"],
  ["vite.config", "vite"],
];

const DEFAULT_OUTPUT: Readonly<Record<string, string>> = { nextjs: ".next", remix: "build", vite: "dist", angular: "dist" };

/** A path from the repository root re-expressed relative to the app folder. */
function relativeTo(appDir: string, rootPath: string): string {
  const up = appDir === "." ? 0 : appDir.split("/").length;
  return `${"../".repeat(up)}${rootPath}`.replace(/\/$/, "");
}

/**
 * Detects an Nx project that has a project.json but no package.json of its own
 * (an "integrated" Nx repo, where dependencies live in the root package.json).
 * Returns null for libraries.
 */
export async function detectNxProject(ctx: DirContext, rootDeps: ReadonlySet<string>, runner: ScriptRunner): Promise<AppBuilder | null> {
  const project = await ctx.readJson("project.json");
  if (!isTable(project) || project.projectType === "library") return null;
  const file = ctx.path("project.json");
  const name = typeof project.name === "string" ? project.name : (ctx.dir.split("/").pop() ?? ctx.dir);
  const targets: Table = isTable(project.targets) ? project.targets : {};
  const b = new AppBuilder(ctx.dir);
  b.name = name;
  b.cwd = ".";
  b.note("project", file, "project.json is an Nx project");

  const executor = dig(targets, "build", "executor");
  let framework: DetectedFramework | null = null;
  if (typeof executor === "string") {
    const hit = EXECUTORS.find(([re]) => re.test(executor));
    framework = hit ? (hit[1] ?? serverFramework(rootDeps)) : null;
    b.setFramework(framework, file, `build executor ${executor}`);
  } else {
    const inferred = INFERRED.find(([base]) => [...ctx.files].some((f) => f.startsWith(`${base}.`)));
    if (inferred) {
      framework = inferred[1];
      const config = [...ctx.files].find((f) => f.startsWith(`${inferred[0]}.`)) ?? inferred[0];
      b.setFramework(framework, ctx.path(config), `${config}: Nx infers a ${framework} build target`);
    } else {
      framework = serverFramework(rootDeps);
      b.setFramework(framework, file, "an Nx application without a known build executor");
    }
  }
  b.confidence = framework ? 0.9 : 0.6;
  const tsconfig = [...ctx.files].find((f) => /^tsconfig(\.app)?\.json$/.test(f));
  if (tsconfig) b.setLanguage("typescript", ctx.path(tsconfig), `${tsconfig} present`);
  else b.setLanguage("javascript", file, "no tsconfig in the project");

  const has = (target: string, configs: readonly string[]) => isTable(targets[target]) || [...ctx.files].some((f) => configs.some((c) => f.startsWith(c)));
  const task = (t: "lint" | "test" | "build", configs: readonly string[]) =>
    has(t, configs)
      ? b.setCommand(t, runner.run(t), file, isTable(targets[t]) ? `project.json has a ${t} target` : `Nx infers a ${t} target from its config file`)
      : b.setCommand(t, null, file, `no ${t} target`);
  b.setCommand("install", runner.install, file, "installed once at the workspace root");
  task("lint", ["eslint.config", ".eslintrc"]);
  task("test", ["jest.config", "vitest.config"]);
  task("build", framework ? INFERRED.filter(([, f]) => f === framework).map(([c]) => `${c}.`) : []);

  const outputPath = dig(targets, "build", "options", "outputPath");
  const base = typeof outputPath === "string" ? relativeTo(ctx.dir, outputPath) : null;
  const server = framework !== null && !(framework in DEFAULT_OUTPUT);
  if (server) {
    // Commands run from the workspace root, so the root-relative outputPath is used as is.
    const main = typeof outputPath === "string" ? `node ${outputPath}/main.js` : null;
    b.setCommand("start", main, file, main ? "runs the bundled server entry" : "no output path to start from");
    b.setOutputDir(null, file, "a server has no static output");
  } else {
    b.setCommand("start", null, file, "no production start target");
    const fallback = framework ? (DEFAULT_OUTPUT[framework] ?? null) : null;
    const dir =
      base === null
        ? fallback
        : framework === "nextjs"
          ? `${base}/.next`
          : framework === "angular" && /:application$/.test(String(executor))
            ? `${base}/browser`
            : base;
    b.setOutputDir(dir, file, base ? `build outputPath is ${String(outputPath)}` : `${framework ?? "the app"} builds into ${fallback ?? "an unknown folder"}`);
  }
  return b;
}

function serverFramework(deps: ReadonlySet<string>): DetectedFramework {
  if (deps.has("@nestjs/core")) return "nestjs";
  if (deps.has("fastify")) return "fastify";
  if (deps.has("express")) return "express";
  return "node";
}
