import { Project } from "@netlify/build-info";
import { NodeFS } from "@netlify/build-info/node";
import { frameworks as vercelFrameworks } from "@vercel/frameworks";
import { detectFramework, detectFrameworkRecord, LocalFileSystemDetector, monorepoManagers } from "@vercel/fs-detectors";
import { readFile } from "node:fs/promises";
import { join, relative, isAbsolute } from "node:path";
import { fsTree } from "../../node/fs-tree.ts";
import { detect } from "../../core/detect/index.ts";
import type { Answer, Scripts } from "./score.ts";

/** One detector under test. */
export interface Tool {
  name: string;
  detect(dir: string): Promise<Answer>;
}

/** Peer framework ids mapped to Sparki's; anything unmapped is compared as is. */
const VERCEL_IDS: Readonly<Record<string, string>> = {
  nuxtjs: "nuxt",
  "docusaurus-2": "docusaurus",
  "sveltekit-1": "sveltekit",
  "solidstart-1": "solidstart",
  vue: "vue-cli",
  container: "docker",
  turbo: "turborepo",
};
const NETLIFY_IDS: Readonly<Record<string, string>> = {
  next: "nextjs",
  "svelte-kit": "sveltekit",
  "solid-start": "solidstart",
  vue: "vue-cli",
};

/** The package.json build and test scripts at `dir`, for scoring "script" truths. */
async function scriptsAt(dir: string): Promise<Scripts> {
  try {
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { scripts?: Record<string, string> };
    return { build: pkg.scripts?.build ?? null, test: pkg.scripts?.test ?? null };
  } catch {
    return { build: null, test: null };
  }
}

async function buildScript(dir: string): Promise<string | null> {
  return (await scriptsAt(dir)).build;
}

export const sparki: Tool = {
  name: "sparki",
  async detect(dir) {
    const d = await detect(await fsTree(dir));
    return { framework: d.framework, build: d.commands.build, test: d.commands.test, out: d.outputDir };
  },
};

/**
 * Vercel's detector, driven as Vercel's build does: a monorepo manager (Turborepo,
 * Nx) at the root first, then the framework preset; the build runs the package.json
 * build script when there is one (as @vercel/static-build does), else the preset's
 * command. Its "N/A" output directory (servers) counts as none.
 */
export const vercel: Tool = {
  name: "@vercel/fs-detectors",
  async detect(dir) {
    const fs = new LocalFileSystemDetector(dir);
    const script = await buildScript(dir);
    const mono = await detectFramework({ fs, frameworkList: monorepoManagers });
    if (mono) return { framework: VERCEL_IDS[mono] ?? mono, build: script ? "npm run build" : null, test: null, out: null };
    // @vercel/frameworks' literal-typed list is the same data fs-detectors expects; its types do not line up.
    const frameworkList = vercelFrameworks as unknown as Parameters<typeof detectFrameworkRecord>[0]["frameworkList"];
    const record = await detectFrameworkRecord({ fs, frameworkList });
    if (!record) return { framework: null, build: script ? "npm run build" : null, test: null, out: null };
    const slug = record.slug ?? null;
    const settings = record.settings as { buildCommand?: { value?: string | null }; outputDirectory?: { value?: string | null } };
    const build = script ? "npm run build" : (settings.buildCommand?.value ?? null);
    const out = settings.outputDirectory?.value;
    return { framework: slug ? (VERCEL_IDS[slug] ?? slug) : null, build, test: null, out: out && out !== "N/A" ? out : null };
  },
};

/** Runs `fn` with console output muted: build-info logs Bugsnag notices for fixtures it cannot classify. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, error: console.error, warn: console.warn, info: console.info };
  const mute = () => undefined;
  Object.assign(console, { log: mute, error: mute, warn: mute, info: mute });
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
  }
}

/**
 * Netlify's build-info: a monorepo build system (Nx, Turborepo) at the root first,
 * then the build setting it offers for the folder itself (else its first one).
 */
export const netlify: Tool = {
  name: "@netlify/build-info",
  detect: (dir) =>
    quietly(async () => {
      const project = new Project(new NodeFS(), dir, dir);
      const systems = (await project.detectBuildSystem()) ?? [];
      const system = systems.find((s: { id: string }) => s.id === "nx" || s.id === "turbo");
      const settings = await project.getBuildSettings();
      const own = settings.find((s: { packagePath?: string }) => !s.packagePath);
      if (system) return { framework: system.id === "turbo" ? "turborepo" : system.id, build: own?.buildCommand ?? null, test: null, out: null };
      const first = own ?? settings[0];
      if (!first) return { framework: null, build: null, test: null, out: null };
      const id = first.framework.id;
      const dist = first.dist ? (isAbsolute(first.dist) ? relative(dir, first.dist) || "." : first.dist) : null;
      return { framework: NETLIFY_IDS[id] ?? id, build: first.buildCommand ?? null, test: null, out: dist };
    }),
};

export { buildScript, scriptsAt };
