import { AppBuilder, type DirContext } from "./app-builder.ts";
import type { DetectedFramework } from "./frameworks.ts";
import { NODE_FRAMEWORKS, type NodeFramework, type NodeProject } from "./node-frameworks.ts";
import { choosePackageManager, pmRunner, type NodePmChoice, type ScriptRunner } from "./node-package-manager.ts";
import { isTable, stringMap } from "./manifest.ts";
import { firstVersion, toolVersions, versionFile, type VersionHit } from "./runtime-version.ts";

/** A workspace member inherits the root's package manager and runs scripts through the root's tool. */
export interface WorkspaceScope {
  root: DirContext;
  choice: NodePmChoice;
  /** Builds the runner for one member, given its package name and directory. */
  runnerFor(name: string | null, dir: string): ScriptRunner;
}

/** Config files whose presence confirms a dependency-based framework guess. */
const CONFIG_HINTS: Readonly<Record<string, readonly string[]>> = {
  nextjs: ["next.config"],
  nuxt: ["nuxt.config"],
  remix: ["remix.config", "vite.config"],
  "react-router": ["react-router.config"],
  astro: ["astro.config"],
  sveltekit: ["svelte.config"],
  gatsby: ["gatsby-config"],
  docusaurus: ["docusaurus.config"],
  eleventy: [".eleventy", "eleventy.config"],
  angular: ["angular.json"],
  vite: ["vite.config", "index.html"],
  nestjs: ["nest-cli.json"],
  "vue-cli": ["vue.config"],
};

/**
 * Placeholder test scripts, which only print a message and fail: npm init's `echo "Error: no
 * test specified" && exit 1` and the starters' variants (`echo "Write tests! …" && exit 1`).
 * Run as a test step they fail every build, so they are not one.
 */
const PLACEHOLDER_TEST = /^\s*echo\s+(?:"(?:[^"\\]|\\.)*"|'[^']*'|[^&;|]*?)\s*(?:&&|;)\s*exit\s+[1-9]\d*\s*;?\s*$/;

/** Whether a test script is one of the failing placeholders above. */
export function isPlaceholderTest(script: string): boolean {
  return PLACEHOLDER_TEST.test(script) || /no test specified/.test(script);
}

/** Scripts that run the unit tests when there is no `test` script (Vue and Nuxt starters name it so). */
const UNIT_TEST_SCRIPTS = ["test:unit"];

/**
 * Frameworks recognised by their config file and their CLI in a script when no dependency names
 * them: a site that takes Docusaurus through a preset package (@ionic-docs/preset-classic)
 * still builds with `docusaurus build`.
 */
const CONFIG_AND_CLI: ReadonlyArray<readonly [DetectedFramework, string, RegExp]> = [
  ["docusaurus", "docusaurus.config", /\bdocusaurus (build|start)\b/],
  ["gatsby", "gatsby-config", /\bgatsby (build|develop)\b/],
  ["astro", "astro.config", /\bastro (build|dev)\b/],
  ["eleventy", "eleventy.config", /\beleventy\b/],
];

/** Detects a package.json project in `ctx.dir`; null when there is no readable package.json. */
export async function detectNode(ctx: DirContext, workspace?: WorkspaceScope): Promise<AppBuilder | null> {
  const raw = await ctx.readJson("package.json");
  if (!isTable(raw)) return null;
  const pkgFile = ctx.path("package.json");
  const scripts = stringMap(raw.scripts);
  // peerDependencies are left out on purpose: a Vite plugin peers on vite without being a Vite app.
  const deps = new Set([
    ...Object.keys(stringMap(raw.dependencies)),
    ...Object.keys(stringMap(raw.devDependencies)),
    ...Object.keys(stringMap(raw.optionalDependencies)),
  ]);
  const p: NodeProject = { ctx, pkg: raw, deps, scripts };
  const b = new AppBuilder(ctx.dir);
  b.name = typeof raw.name === "string" ? raw.name : null;
  b.note("project", pkgFile, "package.json found");

  const choice = workspace ? workspace.choice : await choosePackageManager(ctx, raw, b);
  if (workspace) b.note("packageManager", workspace.root.path("package.json"), `inherited from the workspace root (${choice.pm})`);
  b.packageManager = choice.pm;
  b.packageManagerVersion = choice.version;
  b.lockfile = choice.lockfile;
  const runner = workspace ? workspace.runnerFor(b.name, ctx.dir) : pmRunner(choice);

  if (ctx.has("tsconfig.json")) b.setLanguage("typescript", ctx.path("tsconfig.json"), "tsconfig.json present");
  else if (deps.has("typescript")) b.setLanguage("typescript", pkgFile, "typescript is a dependency");
  else b.setLanguage("javascript", pkgFile, "package.json without TypeScript");

  const framework = await chooseFramework(p, b, choice, workspace !== undefined);
  if (workspace) b.cwd = ".";
  await setRuntime(p, b, choice, workspace);
  await setCommands(p, b, runner, framework);
  if (framework) {
    const out = await framework.outputDir(p);
    b.setOutputDir(out.value, out.file, out.reason);
  } else {
    b.setOutputDir(null, pkgFile, b.framework === null ? "a library has no deployable output" : "no build tool with a known output directory");
  }
  return b;
}

function configOnlyFramework(p: NodeProject): { framework: NodeFramework; config: string; script: string } | null {
  for (const [id, base, cli] of CONFIG_AND_CLI) {
    const config = [...p.ctx.files].find((f) => f === base || f.startsWith(`${base}.`));
    const script = Object.keys(p.scripts).find((name) => cli.test(p.scripts[name] ?? ""));
    const framework = NODE_FRAMEWORKS.find((f) => f.id === id);
    if (config && script && framework) return { framework, config, script };
  }
  return null;
}

async function chooseFramework(p: NodeProject, b: AppBuilder, choice: NodePmChoice, member: boolean): Promise<NodeFramework | null> {
  const pkgFile = p.ctx.path("package.json");
  const matches = NODE_FRAMEWORKS.filter((f) => f.deps.some((d) => p.deps.has(d)));
  if (matches.length === 0) {
    const byConfig = configOnlyFramework(p);
    if (byConfig) {
      b.setFramework(byConfig.framework.id, p.ctx.path(byConfig.config), `${byConfig.config} is ${byConfig.framework.id}'s config`);
      b.note("framework", pkgFile, `scripts.${byConfig.script} runs it (${p.scripts[byConfig.script]}), though no dependency names it directly`);
      b.confidence = 0.85;
      return byConfig.framework;
    }
  }
  const [first, ...others] = matches;
  if (first) {
    const dep = first.deps.find((d) => p.deps.has(d)) ?? first.id;
    b.setFramework(first.id, pkgFile, `depends on ${dep}`);
    const hint = (CONFIG_HINTS[first.id] ?? []).find((base) => [...p.ctx.files].some((f) => f === base || f.startsWith(`${base}.`)));
    const hintFile = hint ? [...p.ctx.files].find((f) => f === hint || f.startsWith(`${hint}.`)) : undefined;
    if (hintFile) b.note("framework", p.ctx.path(hintFile), `${hintFile} confirms ${first.id}`);
    b.confidence = hintFile ? 0.95 : 0.9;
    const servers = others.filter((o) => o.server && !first.server);
    for (const other of others) {
      b.note(
        "framework",
        pkgFile,
        `also depends on ${other.deps.find((d) => p.deps.has(d)) ?? other.id}; ${first.id} takes precedence as the tool that owns build and dev`,
      );
    }
    if (servers.length > 0) b.confidence = 0.8;
    return first;
  }
  const usesBun = choice.pm === "bun" || p.ctx.has("bunfig.toml") || p.deps.has("@types/bun") || p.deps.has("bun-types");
  // Workspace packages are private because they are internal, not because they are apps.
  const publishable = (member || p.pkg.private !== true) && ["main", "exports", "module", "types"].some((k) => k in p.pkg);
  if (!("start" in p.scripts) && ("bin" in p.pkg || publishable)) {
    b.setFramework(
      null,
      pkgFile,
      "bin" in p.pkg ? "a CLI package (bin field) with no app framework" : "a publishable library (main/exports, not private) with no app framework",
    );
    b.confidence = 0.8;
    return null;
  }
  if (usesBun) {
    b.setFramework("bun", pkgFile, "no framework; the project runs on Bun (bun lockfile, bunfig.toml or Bun types)");
    b.confidence = 0.7;
  } else {
    b.setFramework("node", pkgFile, "no framework dependency; a plain Node.js project");
    b.confidence = 0.5;
  }
  return null;
}

/** Where a Node version is pinned in one folder, in the order nvm, fnm, asdf, Volta and npm honour them. */
export function nodeVersionSources(ctx: DirContext, pkg?: Record<string, unknown>): Array<() => Promise<VersionHit | null>> {
  return [
    () => versionFile(ctx, ".nvmrc"),
    () => versionFile(ctx, ".node-version"),
    () => toolVersions(ctx, ["nodejs", "node"]),
    async () => {
      const manifest = pkg ?? (await ctx.readJson("package.json"));
      if (!isTable(manifest)) return null;
      const volta = isTable(manifest.volta) && typeof manifest.volta.node === "string" ? manifest.volta.node : null;
      if (volta) return { version: volta, file: ctx.path("package.json"), reason: `volta pins node ${volta}` };
      const engines = isTable(manifest.engines) && typeof manifest.engines.node === "string" ? manifest.engines.node : null;
      return engines ? { version: engines, file: ctx.path("package.json"), reason: `engines.node is ${engines}` } : null;
    },
  ];
}

async function setRuntime(p: NodeProject, b: AppBuilder, choice: NodePmChoice, workspace?: WorkspaceScope): Promise<void> {
  const runtimeName = b.framework === "bun" || choice.pm === "bun" ? "bun" : "node";
  const sources: Array<() => Promise<VersionHit | null>> = [];
  if (runtimeName === "bun") {
    if (choice.pm === "bun" && choice.version) {
      const version = choice.version;
      sources.push(async () => ({ version, file: p.ctx.path("package.json"), reason: `packageManager pins bun@${version}` }));
    }
    for (const ctx of workspace ? [p.ctx, workspace.root] : [p.ctx]) {
      sources.push(
        () => versionFile(ctx, ".bun-version"),
        () => toolVersions(ctx, ["bun"]),
      );
    }
  } else {
    sources.push(...nodeVersionSources(p.ctx, p.pkg));
    if (workspace) sources.push(...nodeVersionSources(workspace.root));
  }
  const hit = await firstVersion(sources);
  if (hit) b.setRuntime(runtimeName, hit.version, hit.file, hit.reason);
  else b.setRuntime(runtimeName, null, p.ctx.path("package.json"), `no ${runtimeName} version pinned`);
}

async function setCommands(p: NodeProject, b: AppBuilder, runner: ScriptRunner, framework: NodeFramework | null): Promise<void> {
  const pkgFile = p.ctx.path("package.json");
  const s = p.scripts;
  b.setCommand("install", runner.install, b.lockfile ?? pkgFile, b.lockfile ? "frozen install from the committed lockfile" : "no lockfile: a plain install");

  if (s.lint) b.setCommand("lint", runner.run("lint"), pkgFile, `scripts.lint: ${s.lint}`);
  else b.setCommand("lint", null, pkgFile, "no lint script");

  const unit = UNIT_TEST_SCRIPTS.find((name) => s[name]);
  if (s.test && !isPlaceholderTest(s.test)) b.setCommand("test", runner.run("test"), pkgFile, `scripts.test: ${s.test}`);
  else if (unit) {
    const why = s.test ? "scripts.test is a failing placeholder" : "no test script";
    b.setCommand("test", runner.run(unit), pkgFile, `${why}; scripts.${unit} runs the unit tests: ${s[unit]}`);
  } else {
    b.setCommand(
      "test",
      null,
      pkgFile,
      s.test ? `scripts.test only prints a message and fails (${s.test}): a placeholder, not a test suite` : "no test script",
    );
  }

  if (s.build) b.setCommand("build", runner.run("build"), pkgFile, `scripts.build: ${s.build}`);
  else if (framework?.id === "nestjs" && !p.deps.has("@nestjs/cli") && (p.deps.has("typescript") || p.ctx.has("tsconfig.json"))) {
    // `nest build` comes with @nestjs/cli; without it the app compiles with the TypeScript compiler.
    b.setCommand("build", runner.exec("tsc"), pkgFile, "no build script and no @nestjs/cli: compiled with tsc (tsconfig.json)");
  } else if (framework?.build) b.setCommand("build", runner.exec(framework.build), pkgFile, `no build script; ${framework.id}'s own build command`);
  else b.setCommand("build", null, pkgFile, "no build script");

  const devOnly = s.start !== undefined && framework?.devStart?.test(s.start) === true;
  if (s.start && !devOnly) {
    b.setCommand("start", runner.run("start"), pkgFile, `scripts.start: ${s.start}`);
    return;
  }
  if (devOnly) {
    b.setCommand("start", null, pkgFile, `scripts.start runs the dev server (${s.start}); a static site is served from its output directory`);
    return;
  }
  if (framework?.defaultStart) {
    const start = await framework.defaultStart(p);
    // `node <file>` needs no package binary; anything else (next start) is one.
    const command = start.value === null || start.value.startsWith("node ") ? start.value : runner.exec(start.value);
    b.setCommand("start", command, start.file, start.reason);
    return;
  }
  const entry = typeof p.pkg.main === "string" ? p.pkg.main : typeof p.pkg.module === "string" ? p.pkg.module : null;
  if (entry && (framework?.server || b.framework === "bun" || b.framework === "node")) {
    const bin = b.runtime?.name === "bun" ? "bun run" : "node";
    b.setCommand("start", `${bin} ${entry}`, pkgFile, `no start script; runs the package entry ${entry}`);
    return;
  }
  b.setCommand("start", null, pkgFile, framework && !framework.server ? `${framework.id} output is static files` : "no start script");
}
