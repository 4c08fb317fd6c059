import type { AppBuilder, DirContext } from "./app-builder.ts";
import { dig, isTable, readToml } from "./manifest.ts";

/** A repository-relative output directory a hosting config declares, and where. */
interface Declared {
  value: string;
  file: string;
  reason: string;
}

/** "./dist/" → "dist"; absolute paths and parent escapes are not an output directory of this project. */
function clean(dir: string): string | null {
  const value = dir.trim().replace(/^\.\//, "").replace(/\/+$/, "") || ".";
  if (value.startsWith("/") || value.split("/").includes("..") || value.includes("$")) return null;
  return value;
}

/**
 * The output directory that the project's own hosting config names: `outputDirectory` in
 * vercel.json, `[build] publish` in netlify.toml (relative to `[build] base` when that is this
 * folder). The owners wrote it for a platform that deploys that folder, so it is the deployable
 * output whatever the framework's default.
 */
async function declaredOutput(ctx: DirContext): Promise<Declared | null> {
  const vercel = await ctx.readJson("vercel.json");
  if (isTable(vercel) && typeof vercel.outputDirectory === "string") {
    const value = clean(vercel.outputDirectory);
    if (value) return { value, file: ctx.path("vercel.json"), reason: `vercel.json outputDirectory is ${value}` };
  }
  const netlify = await readToml(ctx, "netlify.toml");
  const publish = dig(netlify, "build", "publish");
  const base = dig(netlify, "build", "base");
  // With a base folder, publish is relative to it; only a base of this folder keeps the meaning.
  const baseHere = base === undefined || (typeof base === "string" && clean(base) === ".");
  if (typeof publish === "string" && baseHere) {
    const value = clean(publish);
    if (value) return { value, file: ctx.path("netlify.toml"), reason: `netlify.toml [build] publish is ${value}` };
  }
  return null;
}

/** Sets the output directory a hosting config declares, if any, over the detector's own answer. */
export async function applyDeclaredOutput(ctx: DirContext, app: AppBuilder): Promise<void> {
  const declared = await declaredOutput(ctx);
  if (!declared) return;
  if (app.outputDir === declared.value) {
    app.note("outputDir", declared.file, `${declared.reason}, as detected`);
    return;
  }
  const before = app.outputDir === null ? "none" : app.outputDir;
  app.setOutputDir(declared.value, declared.file, `${declared.reason} (detected: ${before}); the owners' hosting config decides`);
}
