import { angularOutput } from "./angular.ts";
import type { DirContext } from "./app-builder.ts";
import type { DetectedFramework } from "./frameworks.ts";

/** An answer plus the file and reason behind it. */
export interface Finding<T> {
  value: T;
  file: string | null;
  reason: string;
}

/** What the Node detector needs to know about one package.json project. */
export interface NodeProject {
  ctx: DirContext;
  pkg: Record<string, unknown>;
  deps: ReadonlySet<string>;
  scripts: Readonly<Record<string, string>>;
}

/** A JavaScript framework: how to recognise it and where its output goes. */
export interface NodeFramework {
  id: DetectedFramework;
  /** Any of these dependencies marks the framework. */
  deps: readonly string[];
  /** The binary invocation that builds it when package.json has no build script. */
  build: string | null;
  /** True when the app runs as a server rather than shipping static files. */
  server: boolean;
  /** Matches a start script that only runs the dev server (so it is not a production start). */
  devStart?: RegExp;
  outputDir(p: NodeProject): Promise<Finding<string | null>>;
  /** Production start when package.json has no start script. */
  defaultStart?(p: NodeProject): Promise<Finding<string | null>>;
}

const fixed =
  (dir: string | null, why: string) =>
  async (p: NodeProject): Promise<Finding<string | null>> => ({
    value: dir,
    file: p.ctx.path("package.json"),
    reason: why,
  });

/** First capture of `pattern` in the first existing config file. */
async function fromConfig(p: NodeProject, names: readonly string[], pattern: RegExp): Promise<{ value: string; file: string } | null> {
  for (const name of names) {
    const text = await p.ctx.read(name);
    const value = text === null ? undefined : pattern.exec(text)?.[1];
    if (value) return { value: value.replace(/^\.\//, "").replace(/\/$/, ""), file: p.ctx.path(name) };
  }
  return null;
}

const configNames = (base: string) => ["ts", "mts", "js", "mjs", "cjs"].map((ext) => `${base}.${ext}`);
const NEXT_CONFIGS = configNames("next.config");
const VITE_CONFIGS = configNames("vite.config");
const ASTRO_CONFIGS = configNames("astro.config");
const ELEVENTY_CONFIGS = [".eleventy.js", ...configNames("eleventy.config")];
const REACT_ROUTER_CONFIGS = configNames("react-router.config");

async function nextOutput(p: NodeProject): Promise<Finding<string | null>> {
  const exported = await fromConfig(p, NEXT_CONFIGS, /output\s*:\s*["'`](export)["'`]/);
  if (exported) return { value: "out", file: exported.file, reason: "output: 'export' makes a static export in out/" };
  if (/\bnext export\b/.test(p.scripts.build ?? "")) {
    return { value: "out", file: p.ctx.path("package.json"), reason: "the build script runs `next export` into out/" };
  }
  const distDir = await fromConfig(p, NEXT_CONFIGS, /distDir\s*:\s*["'`]([^"'`]+)["'`]/);
  if (distDir) return { value: distDir.value, file: distDir.file, reason: `distDir is ${distDir.value}` };
  return { value: ".next", file: p.ctx.path("package.json"), reason: "Next.js builds into .next" };
}

/**
 * build.outDir as configs write it: a string, or a path built from one relative to the config
 * (`resolve(__dirname, "build")`, `path.join(__dirname, 'dist/app')`,
 * `fileURLToPath(new URL("./out", import.meta.url))`).
 */
const OUT_DIR =
  /outDir\s*:\s*(?:["'`]([^"'`$]+)["'`]|(?:path\.)?(?:resolve|join)\(\s*(?:__dirname|import\.meta\.dirname|process\.cwd\(\))\s*,\s*["'`]([^"'`$]+)["'`]\s*\)|fileURLToPath\(\s*new URL\(\s*["'`]([^"'`$]+)["'`]\s*,\s*import\.meta\.url\s*\)\s*\))/;

/** Vite-based tools honour build.outDir; default dist. */
async function viteOutput(p: NodeProject, configs = VITE_CONFIGS, tool = "Vite"): Promise<Finding<string | null>> {
  for (const name of configs) {
    const text = await p.ctx.read(name);
    const m = text === null ? null : OUT_DIR.exec(text);
    const raw = m?.[1] ?? m?.[2] ?? m?.[3];
    if (!raw) continue;
    const value = raw.replace(/^\.\//, "").replace(/\/$/, "") || ".";
    return { value, file: p.ctx.path(name), reason: `build.outDir is ${value}` };
  }
  return { value: "dist", file: p.ctx.path("package.json"), reason: `${tool} builds into dist by default` };
}

/** Where each SvelteKit adapter writes, in the order they are looked for. */
const SVELTEKIT_ADAPTERS: ReadonlyArray<readonly [string, string, string]> = [
  ["@sveltejs/adapter-static", "build", "adapter-static writes the site to build/"],
  ["@sveltejs/adapter-node", "build", "adapter-node writes the server to build/"],
  ["@sveltejs/adapter-vercel", ".vercel/output", "adapter-vercel writes Vercel's Build Output to .vercel/output"],
  ["@sveltejs/adapter-netlify", "build", "adapter-netlify writes the site to build/ (functions to .netlify/)"],
  ["@sveltejs/adapter-cloudflare", ".svelte-kit/cloudflare", "adapter-cloudflare writes the site to .svelte-kit/cloudflare"],
];

async function sveltekitOutput(p: NodeProject): Promise<Finding<string | null>> {
  const file = p.ctx.path("package.json");
  const config = await p.ctx.read("svelte.config.js");
  // svelte.config.js names the adapter in use; several may be installed.
  const used = SVELTEKIT_ADAPTERS.find(([dep]) => config?.includes(`'${dep}'`) || config?.includes(`"${dep}"`));
  if (used) return { value: used[1], file: p.ctx.path("svelte.config.js"), reason: used[2] };
  const installed = SVELTEKIT_ADAPTERS.find(([dep]) => p.deps.has(dep));
  if (installed) return { value: installed[1], file, reason: installed[2] };
  return { value: ".svelte-kit", file, reason: "no static/node adapter: the platform adapter reads .svelte-kit/" };
}

async function reactRouterOutput(p: NodeProject): Promise<Finding<string | null>> {
  const spa = await fromConfig(p, REACT_ROUTER_CONFIGS, /ssr\s*:\s*(false)/);
  if (spa) return { value: "build/client", file: spa.file, reason: "ssr: false builds a static SPA into build/client" };
  return { value: "build", file: p.ctx.path("package.json"), reason: "React Router builds client and server into build/" };
}

async function nuxtOutput(p: NodeProject): Promise<Finding<string | null>> {
  const file = p.ctx.path("package.json");
  if (/\bnuxi? generate\b/.test(p.scripts.build ?? "")) {
    return { value: ".output/public", file, reason: "the build script runs `nuxt generate`: static files in .output/public" };
  }
  return { value: ".output", file, reason: "Nuxt (Nitro) builds into .output" };
}

async function eleventyOutput(p: NodeProject): Promise<Finding<string | null>> {
  const out = await fromConfig(p, ELEVENTY_CONFIGS, /output\s*:\s*["'`]([^"'`]+)["'`]/);
  if (out) return { value: out.value, file: out.file, reason: `dir.output is ${out.value}` };
  return { value: "_site", file: p.ctx.path("package.json"), reason: "Eleventy writes _site by default" };
}

/**
 * Frameworks in precedence order: meta-frameworks before Vite (they own build and
 * dev even though Vite runs underneath), static tools before server libraries (a
 * frontend that also lists express is still built by its frontend tool).
 */
export const NODE_FRAMEWORKS: readonly NodeFramework[] = [
  {
    id: "nextjs",
    deps: ["next"],
    build: "next build",
    server: true,
    outputDir: nextOutput,
    defaultStart: async (p) => {
      const out = await nextOutput(p);
      return out.value === "out"
        ? { value: null, file: out.file, reason: "a static export has no server to start" }
        : { value: "next start", file: p.ctx.path("package.json"), reason: "Next.js serves its build with `next start`" };
    },
  },
  {
    id: "nuxt",
    deps: ["nuxt", "nuxt3"],
    build: "nuxt build",
    server: true,
    outputDir: nuxtOutput,
    defaultStart: async (p) => ({
      value: /generate/.test(p.scripts.build ?? "") ? null : "node .output/server/index.mjs",
      file: p.ctx.path("package.json"),
      reason: "Nitro's server entry is .output/server/index.mjs",
    }),
  },
  { id: "remix", deps: ["@remix-run/dev"], build: "remix vite:build", server: true, outputDir: fixed("build", "Remix builds into build/") },
  { id: "react-router", deps: ["@react-router/dev"], build: "react-router build", server: true, outputDir: reactRouterOutput },
  {
    id: "astro",
    deps: ["astro"],
    build: "astro build",
    server: false,
    devStart: /\bastro (dev|preview)\b/,
    outputDir: (p) => viteOutput(p, ASTRO_CONFIGS, "Astro"),
  },
  { id: "sveltekit", deps: ["@sveltejs/kit"], build: "vite build", server: true, outputDir: sveltekitOutput },
  { id: "solidstart", deps: ["@solidjs/start"], build: "vinxi build", server: true, outputDir: fixed(".output", "SolidStart (Nitro) builds into .output") },
  {
    id: "gatsby",
    deps: ["gatsby"],
    build: "gatsby build",
    server: false,
    devStart: /\bgatsby develop\b/,
    outputDir: fixed("public", "Gatsby writes the site to public/"),
  },
  {
    id: "docusaurus",
    deps: ["@docusaurus/core"],
    build: "docusaurus build",
    server: false,
    devStart: /\bdocusaurus start\b/,
    outputDir: fixed("build", "Docusaurus writes the site to build/"),
  },
  { id: "eleventy", deps: ["@11ty/eleventy"], build: "eleventy", server: false, devStart: /--serve/, outputDir: eleventyOutput },
  { id: "angular", deps: ["@angular/core"], build: "ng build", server: false, devStart: /\bng serve\b/, outputDir: angularOutput },
  {
    id: "create-react-app",
    deps: ["react-scripts"],
    build: "react-scripts build",
    server: false,
    devStart: /\breact-scripts start\b/,
    outputDir: fixed("build", "Create React App writes the bundle to build/"),
  },
  {
    id: "vue-cli",
    deps: ["@vue/cli-service"],
    build: "vue-cli-service build",
    server: false,
    devStart: /vue-cli-service serve/,
    outputDir: fixed("dist", "Vue CLI builds into dist/"),
  },
  { id: "vite", deps: ["vite"], build: "vite build", server: false, devStart: /^vite(\s+(dev|serve|preview)\b.*)?$/, outputDir: viteOutput },
  {
    id: "nestjs",
    deps: ["@nestjs/core"],
    build: "nest build",
    server: true,
    outputDir: fixed(null, "a NestJS app is a server"),
    defaultStart: async (p) => ({ value: "node dist/main", file: p.ctx.path("package.json"), reason: "nest build writes dist/main.js" }),
  },
  { id: "hono", deps: ["hono"], build: null, server: true, outputDir: fixed(null, "a Hono app is a server") },
  { id: "fastify", deps: ["fastify"], build: null, server: true, outputDir: fixed(null, "a Fastify app is a server") },
  { id: "express", deps: ["express"], build: null, server: true, outputDir: fixed(null, "an Express app is a server") },
  { id: "koa", deps: ["koa"], build: null, server: true, outputDir: fixed(null, "a Koa app is a server") },
];
