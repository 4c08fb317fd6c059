/**
 * The real-repository corpus: public repositories as their owners keep them, each pinned to
 * the commit it was taken at, with truth written by hand from the repository's own files
 * (README, scripts, CI workflows, platform configs) before the detector was run on it.
 *
 * The snapshots themselves are not in this repository: they are other projects' files, and
 * only their trimmed copies (manifests, lockfiles cut to their head, configs, a file per
 * folder) are read, from `SPARKI_DETECT_REAL` or else `../shared/detect-real` beside the
 * checkout (one folder per entry, the files under `<name>/repo/`, where it came from in
 * `<name>/SOURCE.json`). See bench/detect/README.md.
 *
 * Truth conventions are those of truth.ts, plus `test`: "script" = the package.json test
 * script (in any package manager's syntax), a RegExp = a command it matches, null = the
 * repository has no test suite a build should run (npm's and Gatsby's failing placeholders
 * included). A monorepo root is judged at the root (its tool, or null for plain workspaces).
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Truth } from "./truth.ts";

/** One real repository: where it came from and what a knowledgeable engineer would run. */
export interface RealRepo {
  name: string;
  repo: string;
  commit: string;
  /** Commit date of the snapshot. */
  date: string;
  truth: Truth;
  /** Why the truth is what it is, where that is not obvious from the manifests. */
  note?: string;
}

const r = (
  name: string,
  repo: string,
  commit: string,
  date: string,
  framework: string | null,
  build: Truth["build"],
  test: NonNullable<Truth["test"]> | null,
  out: readonly string[] | null,
  note?: string,
): RealRepo => ({ name, repo, commit, date, truth: { framework, build, test, out }, ...(note ? { note } : {}) });

const DOTNET_TEST = /^dotnet test\b/;
const GO_BUILD = /^go build\b/;
const GO_TEST = /^go test\b/;
const CARGO_BUILD = /^cargo build\b/;
const CARGO_TEST = /^cargo test\b/;
const RAILS_BUILD = /assets:precompile/;

export const REAL_REPOS: readonly RealRepo[] = [
  // JavaScript apps and sites
  r(
    "angular-realworld-example-app",
    "gothinkster/angular-realworld-example-app",
    "987b6346f2476bbc4be0845917df1699ddf014b4",
    "2025-11-10",
    "angular",
    "script",
    "script",
    ["dist/angular-conduit/browser"],
    "application builder: outputPath.base dist/angular-conduit, browser files in browser/",
  ),
  r(
    "astrowind",
    "onwidget/astrowind",
    "2e8f6ec459bc7363928f6c3bb1f5ea0c929930c6",
    "2025-08-09",
    "astro",
    "script",
    null,
    ["dist"],
    "netlify.toml publishes dist",
  ),
  r("capacitor-docs", "ionic-team/capacitor-docs", "b5f9b9aed2f30b99baf5c8d856a929edb71a5b03", "2026-08-20", "docusaurus", "script", null, ["build"]),
  r(
    "commerce",
    "vercel/commerce",
    "5542649d5b4700e80d2da9b40279af50bf451a75",
    "2025-12-11",
    "nextjs",
    "script",
    "script",
    [".next"],
    "scripts.test is a prettier check, the owners' own test step",
  ),
  r(
    "eleventy-base-blog",
    "11ty/eleventy-base-blog",
    "e37a55c4c4705d7881929de5242ec50448b5eb0b",
    "2026-06-18",
    "eleventy",
    "script",
    null,
    ["_site"],
    "netlify.toml publishes _site",
  ),
  r(
    "gatsby-starter-blog",
    "gatsbyjs/gatsby-starter-blog",
    "04ec3e64211257f944f36d679ab3a8c898769c32",
    "2026-04-15",
    "gatsby",
    "script",
    null,
    ["public"],
    'scripts.test is the "Write tests!" placeholder that exits 1',
  ),
  r("indie-stack", "remix-run/indie-stack", "56abb93bf81f635b574d9ca23eed05602699458a", "2025-04-28", "remix", "script", "script", ["build"]),
  r(
    "nestjs-realworld-example-app",
    "lujakob/nestjs-realworld-example-app",
    "c1c2cc4e448b279ff083272df1ac50d20c3304fa",
    "2021-01-18",
    "nestjs",
    /^((npx|npm exec|pnpm exec|yarn|bunx) )?tsc\b|run prestart:prod$/,
    "script",
    null,
    "no build script and no Nest CLI: the production build is `tsc` (scripts.prestart:prod)",
  ),
  r(
    "node-express-realworld-example-app",
    "gothinkster/node-express-realworld-example-app",
    "30b68e1e881462b2f4164ea09ab4c4f5699c7b0b",
    "2024-01-04",
    "express",
    "script",
    "script",
    null,
    "one Express API in a standalone Nx workspace (project.json at the root): Nx is its build tool, not a monorepo",
  ),
  r(
    "nuxt-movies",
    "nuxt/movies",
    "346b65591f6059916ba9383ec2baf08297c0e5fc",
    "2025-10-17",
    "nuxt",
    "script",
    /^pnpm (run )?test:unit$/,
    [".output"],
    "the app is the workspace root (packages: [proxy]); CI runs `pnpm run test:unit`",
  ),
  r(
    "react-redux-realworld-example-app",
    "gothinkster/react-redux-realworld-example-app",
    "ee72eba4056392c95a27bc48d385d3f54ba38a18",
    "2021-09-07",
    "create-react-app",
    "script",
    "script",
    ["build"],
  ),
  r("react.dev", "reactjs/react.dev", "12d692da47e77cdc558b928fcfbaf4e71c6d0cec", "2026-08-20", "nextjs", "script", null, [".next"]),
  r(
    "svelte-realworld",
    "sveltejs/realworld",
    "e80873cac4e615c96b6b95c6dcbc19699934a188",
    "2026-04-09",
    "sveltekit",
    "script",
    null,
    [".vercel/output"],
    "pnpm 10 settings (onlyBuiltDependencies) in pnpm-workspace.yaml, no packages:; adapter-vercel writes .vercel/output",
  ),
  r("taxonomy", "shadcn-ui/taxonomy", "651f984e52edd65d40ccd55e299c1baeea3ff017", "2023-04-29", "nextjs", "script", null, [".next"]),
  r("vue3-realworld-example-app", "mutoe/vue3-realworld-example-app", "6dbfbe9d03df96e7c264ea55674529550a2664cc", "2024-08-09", "vite", "script", "script", [
    "dist",
  ]),
  // JavaScript monorepos
  r(
    "create-t3-turbo",
    "t3-oss/create-t3-turbo",
    "e69b5858fc4259fbd44af96eaf774a90dee0adcd",
    "2025-12-03",
    "turborepo",
    "script",
    null,
    null,
    "no member has a test script",
  ),
  r(
    "excalidraw",
    "excalidraw/excalidraw",
    "4872083c044491b6d5c96ae134a75464f96d6831",
    "2026-08-07",
    null,
    "script",
    "script",
    ["excalidraw-app/build"],
    "yarn workspaces without a monorepo tool; vercel.json outputDirectory is excalidraw-app/build",
  ),
  r("nx-examples", "nrwl/nx-examples", "53c1e8c2bf7583759e3b8b9978a6581a4e696d9a", "2026-06-16", "nx", "script", "script", null),
  // Python
  r(
    "bakerydemo",
    "wagtail/bakerydemo",
    "8e2b625755d8942412d5b7627b146a795933b8b2",
    "2026-08-19",
    "django",
    /collectstatic/,
    /manage\.py test\b/,
    null,
    "CI runs ./manage.py test",
  ),
  r(
    "fastapi-realworld-example-app",
    "nsidnev/fastapi-realworld-example-app",
    "029eb7781c60d5f563ee8990a0cbfb79b244538c",
    "2022-08-21",
    "fastapi",
    null,
    /\bpytest\b/,
    null,
  ),
  r(
    "microblog",
    "miguelgrinberg/microblog",
    "a975ef64864354867c88e0ed3a17ba7d17dca752",
    "2025-04-06",
    "flask",
    null,
    /python3? (-m unittest\b|tests\.py$)/,
    null,
    "tests are a root tests.py with unittest",
  ),
  // Ruby
  r(
    "government.github.com",
    "github/government.github.com",
    "1d5af7e6db60fabfa6432930b281d3d44b762dfe",
    "2024-03-02",
    "jekyll",
    /jekyll build/,
    /rake test$/,
    ["_site"],
    "the github-pages gem brings Jekyll; CI runs `bundle exec rake test` (html-proofer)",
  ),
  r("lobsters", "lobsters/lobsters", "57268d762e1c2c95b7a8e64ee8deb259cddd8cc0", "2026-08-03", "rails", RAILS_BUILD, /rspec/, null),
  r("maybe", "maybe-finance/maybe", "77b5469832758d1cbee1a940f3012a1ae1c74cd3", "2025-07-24", "rails", RAILS_BUILD, /rails test$/, null),
  // PHP
  r(
    "bookstack",
    "BookStackApp/BookStack",
    "6f1c54d018f7d55301eb4c31055b04769f5924d7",
    "2024-10-15",
    "laravel",
    /npm (run )?(build|production)$/,
    /(vendor\/bin\/phpunit|php artisan test|composer (run )?test)/,
    null,
    "public/dist is built from package.json (production: minified)",
  ),
  r(
    "koel",
    "koel/koel",
    "41cab99feeaf59b139699403fdfd41f0a280fb39",
    "2026-08-22",
    "laravel",
    /pnpm (run )?build$/,
    /(php artisan test|composer (run )?test|vendor\/bin\/phpunit)/,
    null,
  ),
  // Go
  r(
    "golang-gin-realworld-example-app",
    "gothinkster/golang-gin-realworld-example-app",
    "728cb04bfefc00982600676ea1ad70ff01c6e598",
    "2022-08-31",
    "gin",
    GO_BUILD,
    GO_TEST,
    null,
    "package main is hello.go at the root",
  ),
  r(
    "shiori",
    "go-shiori/shiori",
    "585ea341aa59219b0477f991eadb545d24e3a121",
    "2025-09-29",
    "go",
    GO_BUILD,
    GO_TEST,
    null,
    "net/http server; the package.json only holds CSS tools",
  ),
  // Rust
  r("realworld-axum-sqlx", "davidpdrsn/realworld-axum-sqlx", "d03a2885b661c8466de24c507099e0e2d66b55bd", "2024-01-01", "axum", CARGO_BUILD, CARGO_TEST, null),
  r(
    "zero-to-production",
    "LukeMathWalker/zero-to-production",
    "970987c5f793af6fc8e557731c9bbb23b620451e",
    "2024-09-01",
    "actix-web",
    CARGO_BUILD,
    CARGO_TEST,
    null,
  ),
  // .NET
  r(
    "cleanarchitecture",
    "jasontaylordev/CleanArchitecture",
    "10f1a45df0d86bb87b083f3a0e249d755093fbbd",
    "2026-08-16",
    "aspnet-core",
    /^dotnet publish\b.*src\/Web\/Web\.csproj/,
    DOTNET_TEST,
    null,
    "the web app is src/Web (Microsoft.NET.Sdk.Web); AppHost is Aspire's orchestrator",
  ),
  r(
    "eshoponweb",
    "dotnet-architecture/eShopOnWeb",
    "2414014bfa0f4d2021b5bc9061429a98d232f440",
    "2024-05-07",
    "aspnet-core",
    /^dotnet publish\b.*src\/Web\/Web\.csproj/,
    DOTNET_TEST,
    null,
    "eShopOnWeb.sln; src/Web is the app (its Dockerfile runs Web.dll); PublicApi and BlazorAdmin are beside it",
  ),
  // JVM
  r(
    "spring-boot-realworld-example-app",
    "gothinkster/spring-boot-realworld-example-app",
    "ee17e31aafe733d98c4853c8b9a74d7f2f6c924a",
    "2022-06-08",
    "spring-boot",
    /gradlew? (build|bootJar)/,
    /gradlew? test/,
    null,
  ),
  r(
    "spring-petclinic",
    "spring-projects/spring-petclinic",
    "edf4db28affcc4741c79850a3d95bc3f177b5ff9",
    "2026-03-11",
    "spring-boot",
    /mvnw? .*package|gradlew? (build|bootJar)/,
    /mvnw? .*(test|verify)|gradlew? test/,
    null,
    "keeps both a Maven and a Gradle build",
  ),
  // Elixir
  r(
    "live_beats",
    "fly-apps/live_beats",
    "ac9780472e7019af274110a1cf71250a8d40c986",
    "2024-06-05",
    "phoenix",
    /mix (release|assets\.deploy|compile)/,
    /mix test/,
    null,
  ),
  // Static site generators
  r(
    "hugodocs",
    "gohugoio/hugoDocs",
    "1c613349f4220ae84070df25979d720c43e5cfa6",
    "2026-08-21",
    "hugo",
    /^hugo\b/,
    null,
    ["public"],
    "netlify.toml publishes public",
  ),
];

/**
 * Where the snapshots are: SPARKI_DETECT_REAL, else shared/detect-real beside the checkout.
 * Null when neither exists (the bench and the test then say so and skip the group).
 */
export function realCorpusDir(root: string): string | null {
  const candidates = [process.env.SPARKI_DETECT_REAL, join(root, "../shared/detect-real")].filter((p): p is string => !!p);
  for (const dir of candidates) if (existsSync(resolve(dir))) return resolve(dir);
  return null;
}
