import { AppBuilder, type DirContext } from "./app-builder.ts";
import { firstVersion, toolVersions, versionFromText } from "./runtime-version.ts";

/** Detects Mix projects: Phoenix apps, other Elixir projects (`elixir`, or null for libraries). */
export async function detectElixir(ctx: DirContext): Promise<AppBuilder | null> {
  const mix = await ctx.read("mix.exs");
  if (mix === null) return null;
  const file = ctx.path("mix.exs");
  const b = new AppBuilder(ctx.dir);
  b.name = /app:\s*:(\w+)/.exec(mix)?.[1] ?? null;
  b.note("project", file, "mix.exs marks an Elixir project");
  b.setLanguage("elixir", file, "mix.exs is Mix's project file");
  b.packageManager = "mix";
  b.lockfile = ctx.has("mix.lock") ? ctx.path("mix.lock") : null;
  b.note("packageManager", file, "Mix (Hex packages)");
  const version = await firstVersion([
    () => toolVersions(ctx, ["elixir"]),
    () => versionFromText(ctx, "mix.exs", /elixir:\s*"([^"]+)"/, (v) => `mix.exs requires elixir ${v}`),
  ]);
  if (version) b.setRuntime("elixir", version.version, version.file, version.reason);
  else b.setRuntime("elixir", null, file, "no Elixir version pinned");

  b.setCommand("install", "mix deps.get", b.lockfile ?? file, "fetches Hex dependencies");
  const credo = /:credo\b/.test(mix);
  b.setCommand("lint", credo ? "mix credo --strict" : "mix format --check-formatted", file, credo ? "credo is a dependency" : "mix format ships with Elixir");
  b.setCommand("test", "mix test", file, "ExUnit via mix");
  if (/:phoenix\b/.test(mix)) {
    b.setFramework("phoenix", file, "depends on :phoenix");
    b.confidence = 0.95;
    const assets = /"assets\.deploy"/.test(mix);
    const release = "MIX_ENV=prod mix release";
    b.setCommand(
      "build",
      assets ? `MIX_ENV=prod mix assets.deploy && ${release}` : release,
      file,
      assets ? "deploys assets, then builds a release" : "builds a release",
    );
    b.setCommand("start", "mix phx.server", file, "Phoenix's server");
    b.setOutputDir(null, file, "a Phoenix app is a server");
    return b;
  }
  const app = /mod:\s*\{/.test(mix);
  b.setFramework(app ? "elixir" : null, file, app ? "an OTP application without Phoenix" : "a Mix library");
  b.confidence = 0.7;
  b.setCommand("build", "mix compile", file, "compiles the project");
  b.setCommand("start", app ? "mix run --no-halt" : null, file, app ? "runs the OTP application" : "a library has nothing to start");
  b.setOutputDir(null, file, "no deployable output directory");
  return b;
}
