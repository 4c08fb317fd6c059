import { AppBuilder, type DirContext } from "./app-builder.ts";
import { isTable, stringMap } from "./manifest.ts";
import { toolVersions } from "./runtime-version.ts";

/** Detects a Deno project from deno.json(c): Fresh apps, else the `deno` runtime id. */
export async function detectDeno(ctx: DirContext): Promise<AppBuilder | null> {
  const name = ctx.first(["deno.json", "deno.jsonc"]);
  if (!name) return null;
  const file = ctx.path(name);
  const config = await ctx.readJson(name);
  const conf = isTable(config) ? config : {};
  const tasks = stringMap(conf.tasks);
  const imports = stringMap(conf.imports);
  const b = new AppBuilder(ctx.dir);
  b.name = typeof conf.name === "string" ? conf.name : null;
  b.note("project", file, `${name} is Deno's config`);
  b.setLanguage("typescript", file, "Deno runs TypeScript natively");
  b.packageManager = "deno";
  b.lockfile = ctx.has("deno.lock") ? ctx.path("deno.lock") : null;
  b.note("packageManager", file, "Deno resolves its own imports");
  const asdf = await toolVersions(ctx, ["deno"]);
  if (asdf) b.setRuntime("deno", asdf.version, asdf.file, asdf.reason);
  else b.setRuntime("deno", null, file, "no Deno version pinned");

  const fresh = Object.keys(imports).some((k) => k.startsWith("$fresh/")) || Object.values(imports).some((v) => /@fresh\/core|\/fresh@/.test(v));
  if (fresh) {
    b.setFramework("fresh", file, "imports Fresh");
    b.confidence = 0.9;
  } else {
    b.setFramework("deno", file, "a Deno project with no framework");
    b.confidence = 0.75;
  }
  const task = (t: string, fallback: string | null, why: string) =>
    tasks[t] ? b.setCommand(t as "lint", `deno task ${t}`, file, `tasks.${t}: ${tasks[t]}`) : b.setCommand(t as "lint", fallback, file, why);
  b.setCommand("install", "deno install", b.lockfile ?? file, "caches the dependencies");
  task("lint", "deno lint", "deno lint is built in");
  const hasTests = ctx.index.paths.some((p) => /(_test|\.test)\.(ts|tsx|js)$/.test(p));
  task("test", hasTests ? "deno test -A" : null, hasTests ? "test files present" : "no test files");
  task("build", null, "no build task");
  const entry = ctx.first(["main.ts", "mod.ts", "server.ts", "main.tsx"]);
  task("start", entry ? `deno run -A ${entry}` : null, entry ? `${entry} is the entry module` : "no start task or entry module");
  b.setOutputDir(fresh && tasks.build ? "_fresh" : null, file, fresh && tasks.build ? "Fresh builds into _fresh/" : "a Deno app is a server");
  return b;
}
