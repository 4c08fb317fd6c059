import { AppBuilder, type DirContext } from "./app-builder.ts";
import type { Language } from "./schema.ts";

const HUGO_CONFIGS = ["hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json"];
const LEGACY_CONFIGS = ["config.toml", "config.yaml", "config.yml"];
const HUGO_DIRS = ["content", "layouts", "themes", "archetypes"];

/** Detects a Hugo site from its config file (hugo.* or a legacy config.* beside content/ or layouts/). */
export async function detectHugo(ctx: DirContext): Promise<AppBuilder | null> {
  let config = ctx.first(HUGO_CONFIGS);
  if (!config) {
    const legacy = ctx.first(LEGACY_CONFIGS);
    const text = legacy ? ((await ctx.read(legacy)) ?? "") : "";
    if (legacy && /baseURL/i.test(text) && HUGO_DIRS.some((d) => ctx.hasDir(d))) config = legacy;
  }
  if (!config) return null;
  const file = ctx.path(config);
  const text = (await ctx.read(config)) ?? "";
  const b = new AppBuilder(ctx.dir);
  b.note("project", file, `${config} is Hugo's site config`);
  b.setLanguage("html", file, "a Hugo site is templates and Markdown");
  b.setFramework("hugo", file, `${config} is Hugo's site config`);
  b.confidence = HUGO_CONFIGS.includes(config) ? 0.95 : 0.85;
  b.setRuntime("hugo", null, file, "no Hugo version pinned");
  b.setCommand(
    "install",
    ctx.has(".gitmodules") ? "git submodule update --init --recursive" : null,
    file,
    ctx.has(".gitmodules") ? "themes are git submodules" : "Hugo has no dependencies to install",
  );
  b.setCommand("lint", null, file, "no linter for a Hugo site");
  b.setCommand("test", null, file, "no test suite for a Hugo site");
  b.setCommand("build", "hugo --minify", file, "Hugo renders the site");
  b.setCommand("start", null, file, "a static site is served from its output directory");
  const publish = /publishDir\s*[=:]\s*["']?([\w./-]+)/.exec(text)?.[1];
  b.setOutputDir(publish ?? "public", file, publish ? `publishDir is ${publish}` : "Hugo writes the site to public/");
  return b;
}

/** Detects a plain static site: an index.html with no build tooling. */
export async function detectStaticHtml(ctx: DirContext): Promise<AppBuilder | null> {
  if (!ctx.has("index.html")) return null;
  const file = ctx.path("index.html");
  const b = new AppBuilder(ctx.dir);
  b.note("project", file, "index.html at the top level");
  b.setLanguage("html", file, "plain HTML");
  b.setFramework("static", file, "index.html with no build tool: served as is");
  b.confidence = 0.7;
  for (const kind of ["install", "lint", "test", "build", "start"] as const) b.setCommand(kind, null, file, "plain files need no command");
  b.setOutputDir(".", file, "the folder itself is the site");
  return b;
}

const IMAGE_LANGUAGES: ReadonlyArray<readonly [RegExp, Language]> = [
  [/^(node|oven\/bun)\b/, "javascript"],
  [/^(denoland\/deno)\b/, "typescript"],
  [/^python\b/, "python"],
  [/^(golang|go)\b/, "go"],
  [/^rust\b/, "rust"],
  [/^ruby\b/, "ruby"],
  [/^(eclipse-temurin|openjdk|amazoncorretto|maven|gradle)\b/, "java"],
  [/^mcr\.microsoft\.com\/dotnet\b/, "csharp"],
  [/^php\b/, "php"],
  [/^elixir\b/, "elixir"],
  [/^(nginx|httpd|caddy)\b/, "html"],
];

/** Detects a Dockerfile-only project: built and run as a container. */
export async function detectDocker(ctx: DirContext): Promise<AppBuilder | null> {
  const name = ctx.first(["Dockerfile", "Containerfile"]);
  if (!name) return null;
  const file = ctx.path(name);
  const text = (await ctx.read(name)) ?? "";
  const b = new AppBuilder(ctx.dir);
  b.note("project", file, `${name} builds a container image`);
  b.setFramework("docker", file, `only a ${name}: the image owns build and run`);
  b.confidence = 0.6;
  // The last FROM is the runtime stage of a multi-stage build.
  const froms = [...text.matchAll(/^FROM\s+(?:--platform=\S+\s+)?(\S+)/gim)].map((m) => m[1] ?? "");
  const image = froms.at(-1) ?? null;
  if (image) {
    const [repo, tag] = image.split(":");
    b.setRuntime(repo ?? image, tag?.split("@")[0] ?? null, file, `the final stage runs FROM ${image}`);
    const first = froms[0] ?? image;
    const lang = IMAGE_LANGUAGES.find(([re]) => re.test(first));
    if (lang) b.setLanguage(lang[1], file, `the build starts FROM ${first}`);
  } else b.setRuntime("docker", null, file, "no FROM line");
  const tag = ctx.dir === "." ? "app" : (ctx.dir.split("/").pop() ?? "app");
  b.setCommand("install", null, file, "dependencies are installed inside the image");
  b.setCommand("lint", null, file, "nothing to lint outside the image");
  b.setCommand("test", null, file, "no test command outside the image");
  b.setCommand("build", `docker build -t ${tag} .`, file, `builds the ${name}`);
  const port = /^EXPOSE\s+(\d+)/im.exec(text)?.[1];
  b.setCommand(
    "start",
    port ? `docker run --rm -p ${port}:${port} ${tag}` : `docker run --rm ${tag}`,
    file,
    port ? `the image EXPOSEs ${port}` : "runs the image",
  );
  b.setOutputDir(null, file, "the deployable is an image, not a directory");
  return b;
}
