/**
 * Every framework id the detector can answer with. `AppBuilder.setFramework` and each ecosystem's
 * table take only these, so a detector that learns a new framework fails the type check until it
 * is listed here. Metrics label builds with them: a pipeline may name any framework (a runner
 * uploads it, sparki.yml overrides it), and only this list keeps that label's values bounded.
 */
export const detectedFrameworks = [
  // JavaScript and TypeScript (node-frameworks.ts, node.ts, nx.ts, deno.ts)
  "nextjs",
  "nuxt",
  "remix",
  "react-router",
  "astro",
  "sveltekit",
  "solidstart",
  "gatsby",
  "docusaurus",
  "eleventy",
  "angular",
  "create-react-app",
  "vue-cli",
  "vite",
  "nestjs",
  "hono",
  "fastify",
  "express",
  "koa",
  "node",
  "bun",
  "fresh",
  "deno",
  // Monorepo tools driving a workspace (monorepo.ts)
  "turborepo",
  "nx",
  // Python, Ruby, PHP, Elixir
  "django",
  "fastapi",
  "flask",
  "python",
  "rails",
  "jekyll",
  "sinatra",
  "ruby",
  "laravel",
  "symfony",
  "phoenix",
  "elixir",
  // Go, Rust, JVM, .NET
  "gin",
  "echo",
  "fiber",
  "chi",
  "go",
  "axum",
  "actix-web",
  "rocket",
  "warp",
  "poem",
  "rust",
  "spring-boot",
  "quarkus",
  "micronaut",
  "ktor",
  "aspnet-core",
  "dotnet",
  // No language tooling of their own (static.ts)
  "hugo",
  "static",
  "docker",
] as const;

/** A framework id the detector can give. */
export type DetectedFramework = (typeof detectedFrameworks)[number];

const known: ReadonlySet<string> = new Set(detectedFrameworks);

/** Whether `id` is one the detector gives (rather than a name a pipeline or sparki.yml made up). */
export function isDetectedFramework(id: string): id is DetectedFramework {
  return known.has(id);
}
