import { AppBuilder, type DirContext } from "./app-builder.ts";
import type { DetectedFramework } from "./frameworks.ts";
import { dig, isTable, readToml } from "./manifest.ts";
import { firstVersion, toolVersions, versionFile, versionFromText } from "./runtime-version.ts";

const RUST_FRAMEWORKS: readonly DetectedFramework[] = ["axum", "actix-web", "rocket", "warp", "poem"];

/** Detects a Cargo project: Axum/Actix/Rocket services, binaries (`rust`), libraries (null). */
export async function detectRust(ctx: DirContext): Promise<AppBuilder | null> {
  const cargo = await readToml(ctx, "Cargo.toml");
  if (cargo === null) return null;
  const file = ctx.path("Cargo.toml");
  const b = new AppBuilder(ctx.dir);
  const name = dig(cargo, "package", "name");
  b.name = typeof name === "string" ? name : null;
  b.note("project", file, "Cargo.toml marks a Rust crate");
  b.setLanguage("rust", file, "Cargo.toml is Cargo's manifest");
  b.packageManager = "cargo";
  b.lockfile = ctx.has("Cargo.lock") ? ctx.path("Cargo.lock") : null;
  b.note("packageManager", file, "Cargo");

  const version = await firstVersion([
    () => versionFromText(ctx, "rust-toolchain.toml", /channel\s*=\s*"([^"]+)"/, (v) => `rust-toolchain.toml channel ${v}`),
    () => versionFile(ctx, "rust-toolchain"),
    () => toolVersions(ctx, ["rust"]),
    async () => {
      const rv = dig(cargo, "package", "rust-version");
      return typeof rv === "string" ? { version: rv, file, reason: `rust-version is ${rv}` } : null;
    },
  ]);
  if (version) b.setRuntime("rust", version.version, version.file, version.reason);
  else b.setRuntime("rust", null, file, "no toolchain pinned");

  const deps = new Set<string>();
  for (const t of [cargo.dependencies, dig(cargo, "workspace", "dependencies")]) if (isTable(t)) for (const k of Object.keys(t)) deps.add(k);
  const locked = b.lockfile ? " --locked" : "";
  b.setCommand("install", `cargo fetch${locked}`, b.lockfile ?? file, b.lockfile ? "Cargo.lock pins the crates" : "no Cargo.lock");
  b.setCommand("lint", "cargo clippy --all-targets -- -D warnings", file, "clippy ships with rustup");
  b.setCommand("test", "cargo test", file, "Cargo's test runner");
  b.setCommand("build", `cargo build --release${locked}`, file, "release build");

  const bins = Array.isArray(cargo.bin) ? cargo.bin : [];
  const isBinary = ctx.has("src/main.rs") || bins.length > 0;
  const fw = RUST_FRAMEWORKS.find((f) => deps.has(f));
  if (fw) {
    b.setFramework(fw, file, `depends on ${fw}`);
    b.confidence = 0.9;
  } else if (isBinary) {
    b.setFramework("rust", ctx.has("src/main.rs") ? ctx.path("src/main.rs") : file, "a Rust binary with no web framework");
    b.confidence = 0.8;
  } else {
    b.setFramework(null, file, isTable(cargo.workspace) ? "a Cargo workspace with no web framework" : "no src/main.rs: a Rust library");
    b.confidence = 0.8;
  }
  if (isBinary && b.name) b.setCommand("start", `./target/release/${b.name}`, file, "runs the release binary");
  else b.setCommand("start", null, file, "no binary target to start");
  b.setOutputDir(null, file, "Cargo builds a binary, not a static site");
  return b;
}
