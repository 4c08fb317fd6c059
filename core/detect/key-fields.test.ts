import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fsTree } from "../../node/fs-tree.ts";
import { detect } from "./index.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures", import.meta.url));

/**
 * Hand-written answers for the fields users and the bench judge, kept apart from
 * expected/*.json so that regenerating those files cannot silently bless a wrong
 * framework, package manager, build command or output directory.
 */
const TABLE: Record<string, { framework: string | null; pm: string | null; build: string | null; out: string | null; lang?: string | null }> = {
  angular: { framework: "angular", pm: "npm", build: "npm run build", out: "dist/ng-dashboard/browser" },
  "aspnet-core": {
    framework: "aspnet-core",
    pm: "dotnet",
    build: "dotnet publish src/WeatherApi/WeatherApi.csproj -c Release -o publish",
    out: null,
    lang: "csharp",
  },
  astro: { framework: "astro", pm: "pnpm", build: "pnpm run build", out: "dist" },
  bun: { framework: "bun", pm: "bun", build: null, out: null },
  deno: { framework: "deno", pm: "deno", build: null, out: null },
  django: { framework: "django", pm: "pip", build: "python manage.py collectstatic --noinput", out: null, lang: "python" },
  "dockerfile-only": { framework: "docker", pm: null, build: "docker build -t app .", out: null },
  docusaurus: { framework: "docusaurus", pm: "npm", build: "npm run build", out: "build" },
  eleventy: { framework: "eleventy", pm: "npm", build: "npm run build", out: "_site" },
  express: { framework: "express", pm: "npm", build: null, out: null, lang: "javascript" },
  fastapi: { framework: "fastapi", pm: "uv", build: null, out: null },
  fastify: { framework: "fastify", pm: "pnpm", build: null, out: null },
  flask: { framework: "flask", pm: "pip", build: null, out: null },
  gatsby: { framework: "gatsby", pm: "yarn", build: "yarn build", out: "public" },
  "go-gin": { framework: "gin", pm: "go", build: "go build -o bin/server ./cmd/server", out: null, lang: "go" },
  "go-module": { framework: "go", pm: "go", build: "go build -o bin/healthcheck .", out: null },
  hono: { framework: "hono", pm: "npm", build: null, out: null, lang: "typescript" },
  hugo: { framework: "hugo", pm: null, build: "hugo --minify", out: "public" },
  jekyll: { framework: "jekyll", pm: "bundler", build: "bundle exec jekyll build", out: "_site" },
  laravel: { framework: "laravel", pm: "composer", build: "npm ci && npm run build", out: null, lang: "php" },
  "lockfile-vs-packagemanager": { framework: "vite", pm: "pnpm", build: "pnpm run build", out: "dist" },
  "mixed-frontend-server": { framework: "vite", pm: "npm", build: "npm run build", out: "dist" },
  "multiple-lockfiles": { framework: "koa", pm: "yarn", build: null, out: null },
  nestjs: { framework: "nestjs", pm: "npm", build: "npm run build", out: null },
  nextjs: { framework: "nextjs", pm: "npm", build: "npm run build", out: ".next", lang: "typescript" },
  "nextjs-static-export": { framework: "nextjs", pm: "pnpm", build: "pnpm run build", out: "out" },
  "npm-library": { framework: null, pm: "npm", build: "npm run build", out: null },
  "npm-workspaces-docs": { framework: null, pm: "npm", build: "npm run build", out: null },
  nuxt: { framework: "nuxt", pm: "yarn", build: "yarn build", out: ".output" },
  nx: { framework: "nx", pm: "npm", build: "npx nx run-many -t build", out: null },
  phoenix: { framework: "phoenix", pm: "mix", build: "MIX_ENV=prod mix assets.deploy && MIX_ENV=prod mix release", out: null, lang: "elixir" },
  "pnpm-workspaces": { framework: null, pm: "pnpm", build: "pnpm -r run build", out: null },
  "python-pip-package": { framework: null, pm: "pip", build: "python -m build", out: null },
  "python-poetry-package": { framework: null, pm: "poetry", build: "poetry build", out: null },
  "python-uv-package": { framework: null, pm: "uv", build: "uv build", out: null },
  rails: { framework: "rails", pm: "bundler", build: "bin/rails assets:precompile", out: null, lang: "ruby" },
  "react-router": { framework: "react-router", pm: "npm", build: "npm run build", out: "build" },
  remix: { framework: "remix", pm: "yarn", build: "yarn build", out: "build" },
  "rust-axum": { framework: "axum", pm: "cargo", build: "cargo build --release --locked", out: null },
  "rust-cargo": { framework: "rust", pm: "cargo", build: "cargo build --release --locked", out: null },
  sinatra: { framework: "sinatra", pm: "bundler", build: null, out: null },
  "spring-boot-gradle": { framework: "spring-boot", pm: "gradle", build: "./gradlew build -x test", out: null, lang: "kotlin" },
  "spring-boot-maven": { framework: "spring-boot", pm: "maven", build: "./mvnw -B package -DskipTests", out: null, lang: "java" },
  "static-html": { framework: "static", pm: null, build: null, out: "." },
  "subfolder-app": { framework: "vite", pm: "pnpm", build: "pnpm run build", out: "dist" },
  "subfolder-multi": { framework: null, pm: null, build: null, out: null, lang: null },
  sveltekit: { framework: "sveltekit", pm: "npm", build: "npm run build", out: ".svelte-kit" },
  turborepo: { framework: "turborepo", pm: "pnpm", build: "pnpm run build", out: null },
  unknown: { framework: null, pm: null, build: null, out: null, lang: null },
  "vite-react": { framework: "vite", pm: "npm", build: "npm run build", out: "dist" },
  "vite-solid": { framework: "vite", pm: "bun", build: "bun run build", out: "dist" },
  "vite-svelte": { framework: "vite", pm: "npm", build: "npm run build", out: "dist" },
  "vite-vanilla": { framework: "vite", pm: "npm", build: "npm run build", out: "dist" },
  "vite-vue": { framework: "vite", pm: "pnpm", build: "pnpm run build", out: "public-dist" },
  "yarn-workspaces": { framework: null, pm: "yarn", build: "yarn workspaces foreach -A run build", out: null },
};

describe("key fields per fixture (hand-written)", () => {
  for (const [name, want] of Object.entries(TABLE)) {
    it(name, async () => {
      const got = await detect(await fsTree(join(FIXTURES, name)));
      expect({ framework: got.framework, pm: got.packageManager, build: got.commands.build, out: got.outputDir }).toEqual({
        framework: want.framework,
        pm: want.pm,
        build: want.build,
        out: want.out,
      });
      if (want.lang !== undefined) expect(got.language).toBe(want.lang);
    });
  }
});

describe("monorepo apps (hand-written)", () => {
  const apps = async (name: string) => (await detect(await fsTree(join(FIXTURES, name)))).apps.map((a) => [a.path, a.framework, a.commands.build, a.outputDir]);

  it("turborepo lists the two apps, not the ui and tsconfig packages", async () => {
    expect(await apps("turborepo")).toEqual([
      ["apps/docs", "vite", "pnpm exec turbo run build --filter=docs", "dist"],
      ["apps/web", "nextjs", "pnpm exec turbo run build --filter=web", ".next"],
    ]);
  });
  it("nx lists applications from project.json, not libs", async () => {
    expect(await apps("nx")).toEqual([
      ["apps/admin", "vite", "npx nx run admin:build", "../../dist/apps/admin"],
      ["apps/api", "nestjs", "npx nx run api:build", null],
      ["apps/store", "nextjs", "npx nx run store:build", "../../dist/apps/store/.next"],
    ]);
  });
  it("plain pnpm workspaces use pnpm's filter", async () => {
    expect(await apps("pnpm-workspaces")).toEqual([
      ["apps/api", "hono", null, null],
      ["apps/site", "astro", "pnpm --filter @platform/site run build", "build"],
    ]);
  });
  it("yarn berry workspaces use yarn workspace", async () => {
    expect(await apps("yarn-workspaces")).toEqual([
      ["packages/dashboard", "create-react-app", "yarn workspace dashboard run build", "build"],
      ["packages/server", "express", null, null],
    ]);
  });
  it("npm workspaces with a docs site", async () => {
    expect(await apps("npm-workspaces-docs")).toEqual([["website", "docusaurus", "npm run build -w website", "build"]]);
  });
  it("two unrelated subfolder projects are both listed", async () => {
    expect(await apps("subfolder-multi")).toEqual([
      ["backend", "fastapi", null, null],
      ["frontend", "vite", "npm run build", "dist"],
    ]);
  });
});
