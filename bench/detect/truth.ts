/**
 * Ground truth for the detection bench, written by hand from each fixture's files
 * (not from Sparki's output), so the bench can rank Sparki below a peer.
 *
 * build: "script" = the project's own package.json build script, in any package
 * manager's syntax or as the script's text; a RegExp = any command it matches;
 * null = the project has no build step. out: accepted output directories
 * (several where platforms legitimately differ), or null for servers/libraries.
 */
export interface Truth {
  framework: string | null;
  build: "script" | RegExp | null;
  /**
   * The test command, like `build` ("script" = the package.json test script); absent where
   * the corpus has no test truth yet (the hand-written fixtures), and then not scored.
   */
  test?: "script" | RegExp | null;
  out: readonly string[] | null;
}

const t = (framework: string | null, build: Truth["build"], out: readonly string[] | null = null): Truth => ({ framework, build, out });

/** Truth for core/detect/fixtures/<case>; monorepo roots are judged at the root. */
export const FIXTURE_TRUTH: Readonly<Record<string, Truth>> = {
  angular: t("angular", "script", ["dist/ng-dashboard/browser"]),
  "aspnet-core": t("aspnet-core", /^dotnet (publish|build)\b/),
  astro: t("astro", "script", ["dist"]),
  bun: t("bun", null),
  deno: t("deno", null),
  django: t("django", /collectstatic/),
  "dotnet-dockerfile-web": t("aspnet-core", /^dotnet publish\b.*src\/Storefront\/Storefront\.csproj/),
  "dotnet-solution-web": t("aspnet-core", /^dotnet publish\b.*src\/Web\/Web\.csproj/),
  "dockerfile-only": t("docker", /^docker build\b/),
  docusaurus: t("docusaurus", "script", ["build"]),
  eleventy: t("eleventy", "script", ["_site"]),
  express: t("express", null),
  fastapi: t("fastapi", null),
  fastify: t("fastify", null),
  flask: t("flask", null),
  "flask-unittest": t("flask", null),
  gatsby: t("gatsby", "script", ["public"]),
  "go-gin": t("gin", /^go build\b/),
  "go-module": t("go", /^go build\b/),
  hono: t("hono", null),
  hugo: t("hugo", /^hugo\b/, ["public"]),
  jekyll: t("jekyll", /jekyll build/, ["_site"]),
  laravel: t("laravel", /(npm|vite) (run )?build/),
  "lockfile-vs-packagemanager": t("vite", "script", ["dist"]),
  "mixed-frontend-server": t("vite", "script", ["dist"]),
  "multiple-lockfiles": t("koa", null),
  nestjs: t("nestjs", "script"),
  nextjs: t("nextjs", "script", [".next"]),
  "nextjs-static-export": t("nextjs", "script", ["out"]),
  "netlify-publish": t("node", "script", ["site"]),
  "npm-library": t(null, "script"),
  "npm-workspaces-docs": t(null, "script"),
  nuxt: t("nuxt", "script", [".output", ".output/public"]),
  nx: t("nx", /nx run-many (-t |--target[= ])build/),
  "placeholder-test": t("gatsby", "script", ["public"]),
  "pnpm-settings-sveltekit": t("sveltekit", "script", [".vercel/output"]),
  phoenix: t("phoenix", /mix (release|assets\.deploy|compile)/),
  "pnpm-workspaces": t(null, /-r run build|--recursive/),
  "python-pip-package": t(null, /python -m build|pip wheel/),
  "python-poetry-package": t(null, /poetry build/),
  "python-uv-package": t(null, /uv build/),
  rails: t("rails", /assets:precompile/),
  "react-router": t("react-router", "script", ["build", "build/client"]),
  remix: t("remix", "script", ["build", "build/client"]),
  "rust-axum": t("axum", /^cargo build\b/),
  "rust-cargo": t("rust", /^cargo build\b/),
  sinatra: t("sinatra", null),
  "spring-boot-gradle": t("spring-boot", /gradlew? (build|bootJar)/),
  "spring-boot-maven": t("spring-boot", /mvnw? .*package/),
  "static-html": t("static", null, ["."]),
  "subfolder-app": t("vite", "script", ["dist"]),
  "subfolder-multi": t(null, null),
  sveltekit: t("sveltekit", "script", [".svelte-kit", "build"]),
  turborepo: t("turborepo", "script"),
  unknown: t(null, null),
  "vercel-output-dir": t("vite", "script", ["web/dist"]),
  "vite-react": t("vite", "script", ["dist"]),
  "vite-solid": t("vite", "script", ["dist"]),
  "vite-svelte": t("vite", "script", ["dist"]),
  "vite-vanilla": t("vite", "script", ["dist"]),
  "vite-outdir-resolve": t("vite", "script", ["site"]),
  "vite-vue": t("vite", "script", ["public-dist"]),
  "yarn-workspaces": t(null, /workspaces (foreach -A )?run build/),
};

/** Every create-vite template is a plain Vite app: `vite` whatever its UI library. */
export const CREATE_VITE_TRUTH: Truth = t("vite", "script", ["dist"]);
