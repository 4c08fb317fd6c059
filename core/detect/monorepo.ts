import { parse as parseYaml } from "yaml";
import { AppBuilder, DirContext } from "./app-builder.ts";
import { isTable, stringMap } from "./manifest.ts";
import { choosePackageManager, pmRunner } from "./node-package-manager.ts";
import { detectNode, nodeVersionSources } from "./node.ts";
import { firstVersion } from "./runtime-version.ts";
import { detectNxProject } from "./nx.ts";
import type { DetectedApp } from "./schema.ts";
import type { TreeIndex } from "./tree.ts";
import { memberRunner, rootRunAll, type MonorepoTool } from "./workspace-runner.ts";

/** A monorepo root and its apps. */
export interface MonorepoResult {
  root: AppBuilder;
  apps: DetectedApp[];
}

/** `apps/*`, `packages/**`, `tools/cli` → a regex over directory paths. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/^\.\//, "")
    .replace(/\/+$/, "")
    .split("/")
    .map((seg) => (seg === "**" ? "(?:.+)" : seg.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")))
    .join("/");
  return new RegExp(`^${body}$`);
}

async function workspaceGlobs(root: DirContext, pkg: Record<string, unknown> | null): Promise<{ globs: string[]; file: string } | null> {
  const pnpm = await root.read("pnpm-workspace.yaml");
  if (pnpm !== null) {
    let doc: unknown = null;
    try {
      doc = parseYaml(pnpm);
    } catch {
      doc = null;
    }
    const list = isTable(doc) && Array.isArray(doc.packages) ? doc.packages.filter((g): g is string => typeof g === "string") : [];
    // pnpm 10 keeps settings (onlyBuiltDependencies, catalogs, overrides) in this file, so a
    // single project may have one; only a packages: list makes a workspace.
    if (list.length > 0) return { globs: list, file: root.path("pnpm-workspace.yaml") };
    return null;
  }
  const ws = pkg?.workspaces;
  const list = Array.isArray(ws) ? ws : isTable(ws) && Array.isArray(ws.packages) ? ws.packages : null;
  if (!list) return null;
  return { globs: list.filter((g): g is string => typeof g === "string"), file: root.path("package.json") };
}

/**
 * Detects a JavaScript monorepo (npm/pnpm/yarn/bun workspaces, Turborepo, Nx) at
 * the repository root and each of its apps. Libraries and config packages are
 * not apps and are left out. Null when the root is not a monorepo.
 */
export async function detectMonorepo(index: TreeIndex): Promise<MonorepoResult | null> {
  const root = new DirContext(index, ".");
  const rawPkg = await root.readJson("package.json");
  const pkg = isTable(rawPkg) ? rawPkg : null;
  const ws = await workspaceGlobs(root, pkg);
  const tool: MonorepoTool = root.has("turbo.json") ? "turborepo" : root.has("nx.json") ? "nx" : null;
  if (!pkg || (!ws && tool !== "nx")) return null;
  // A standalone Nx workspace is one app whose project.json sits at the root: Nx is its build tool.
  if (!ws && tool === "nx" && root.has("project.json")) return null;

  const b = new AppBuilder(".");
  b.name = typeof pkg.name === "string" ? pkg.name : null;
  const choice = await choosePackageManager(root, pkg, b);
  b.packageManager = choice.pm;
  b.packageManagerVersion = choice.version;
  b.lockfile = choice.lockfile;
  if (ws) b.note("project", ws.file, `workspaces: ${ws.globs.join(", ")}`);
  if (tool === "turborepo") b.setFramework("turborepo", root.path("turbo.json"), "turbo.json: Turborepo drives the workspace");
  else if (tool === "nx") b.setFramework("nx", root.path("nx.json"), "nx.json: Nx drives the workspace");
  else b.setFramework(null, ws?.file ?? null, `${choice.pm} workspaces without a monorepo build tool`);
  b.confidence = tool ? 0.95 : 0.85;

  const runtimeName = choice.pm === "bun" ? "bun" : "node";
  const pinned = runtimeName === "node" ? await firstVersion(nodeVersionSources(root, pkg)) : null;
  if (pinned) b.setRuntime(runtimeName, pinned.version, pinned.file, pinned.reason);
  else b.setRuntime(runtimeName, null, root.path("package.json"), `no ${runtimeName} version pinned at the root`);

  const include = (ws?.globs ?? []).filter((g) => !g.startsWith("!")).map(globToRegExp);
  const exclude = (ws?.globs ?? []).filter((g) => g.startsWith("!")).map((g) => globToRegExp(g.slice(1)));
  const dirOf = (p: string) => p.slice(0, p.lastIndexOf("/"));
  const members = index.paths
    .filter((p) => p.endsWith("/package.json"))
    .map(dirOf)
    .filter((d) => include.some((re) => re.test(d)) && !exclude.some((re) => re.test(d)));
  const nxProjects = tool === "nx" ? index.paths.filter((p) => p.endsWith("/project.json")).map(dirOf) : [];
  const turboTasks = await declaredTurboTasks(root);
  const rootDeps = new Set([...Object.keys(stringMap(pkg.dependencies)), ...Object.keys(stringMap(pkg.devDependencies))]);

  const apps: DetectedApp[] = [];
  for (const dir of [...new Set([...members, ...nxProjects])].sort()) {
    const ctx = new DirContext(index, dir);
    const nxProject = await ctx.readJson("project.json");
    const nxName = isTable(nxProject) && typeof nxProject.name === "string" ? nxProject.name : (dir.split("/").pop() ?? dir);
    const found = ctx.has("package.json")
      ? await detectNode(ctx, { root, choice, runnerFor: (name, d) => memberRunner(choice, tool, name, d, turboTasks) })
      : await detectNxProject(ctx, rootDeps, memberRunner(choice, tool, nxName, dir));
    if (!found) continue;
    if (!ctx.has("package.json")) inherit(found, b, choice.pm);
    const isApp = found.framework !== null && !(found.framework === "node" && found.commands.start === null);
    if (isApp) apps.push(found.build());
  }
  b.note("apps", ws?.file ?? root.path("nx.json"), apps.length > 0 ? `apps: ${apps.map((a) => a.path).join(", ")}` : "no member is an app (all libraries)");

  const languages = new Set(apps.map((a) => a.language));
  if (root.has("tsconfig.json") || root.has("tsconfig.base.json") || languages.has("typescript")) {
    const tsconfig = root.first(["tsconfig.json", "tsconfig.base.json"]);
    b.setLanguage("typescript", tsconfig ? root.path(tsconfig) : null, tsconfig ? `${tsconfig} at the root` : "the apps are TypeScript");
  } else b.setLanguage("javascript", root.path("package.json"), "no TypeScript at the root or in the apps");

  const scripts = stringMap(pkg.scripts);
  const runner = pmRunner(choice);
  b.setCommand(
    "install",
    runner.install,
    b.lockfile ?? root.path("package.json"),
    b.lockfile ? "frozen install of the whole workspace" : "no lockfile: a plain install",
  );
  const memberScripts = new Set<string>();
  for (const dir of members) {
    const memberPkg = await index.readJson(`${dir}/package.json`);
    if (isTable(memberPkg)) for (const s of Object.keys(stringMap(memberPkg.scripts))) memberScripts.add(s);
  }
  for (const kind of ["lint", "test", "build"] as const) {
    if (scripts[kind]) b.setCommand(kind, runner.run(kind), root.path("package.json"), `root scripts.${kind}: ${scripts[kind]}`);
    else if (tool === "nx" || memberScripts.has(kind)) {
      b.setCommand(kind, rootRunAll(choice, tool, kind, turboTasks), root.path("package.json"), `runs ${kind} in every member`);
    } else b.setCommand(kind, null, root.path("package.json"), `no member has a ${kind} script`);
  }
  b.setCommand("start", null, root.path("package.json"), "a monorepo root starts nothing; its apps do");
  b.setOutputDir(null, root.path("package.json"), "each app has its own output directory");
  return { root: b, apps };
}

/** Task names turbo.json declares (`tasks` in Turborepo 2, `pipeline` in 1.x). */
async function declaredTurboTasks(root: DirContext): Promise<Set<string>> {
  const turbo = await root.readJson("turbo.json");
  const tasks = isTable(turbo) ? (turbo.tasks ?? turbo.pipeline) : undefined;
  // Keys may be "web#build" (one package's task); the task name is after the '#'.
  return new Set(isTable(tasks) ? Object.keys(tasks).map((k) => k.slice(k.indexOf("#") + 1)) : []);
}

/** An Nx project without its own package.json shares the root's package manager and runtime. */
function inherit(app: AppBuilder, root: AppBuilder, pm: AppBuilder["packageManager"]): void {
  app.packageManager = pm;
  app.packageManagerVersion = root.packageManagerVersion;
  app.lockfile = root.lockfile;
  app.note("packageManager", "package.json", `inherited from the workspace root (${pm ?? "none"})`);
  if (root.runtime) app.setRuntime(root.runtime.name, root.runtime.version, "package.json", "the workspace root's runtime");
}
