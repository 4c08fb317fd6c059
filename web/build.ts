/**
 * `npm run build:web`: bundles the dashboard (web/src, Preact) with esbuild into web/dist,
 * which the Worker serves as static assets (wrangler.toml [assets]). Prints the gzip size.
 * `--watch` rebuilds on change (npm run dev).
 */
import { build, context, type BuildOptions } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { commonPasswords } from "../core/passwords/common.ts";
import { commonPasswordsPath } from "../core/passwords/policy.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const web = fileURLToPath(new URL(".", import.meta.url));
const dist = join(web, "dist");

const options: BuildOptions = {
  entryPoints: [join(web, "src", "main.tsx"), join(web, "src", "app.css")],
  outdir: join(dist, "assets"),
  entryNames: "app",
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome111", "firefox114", "safari16.4"],
  jsx: "automatic",
  jsxImportSource: "preact",
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
};

/** Gzipped bytes of the files a first visit loads (HTML, JS, CSS). */
export function bundleSize(): { js: number; css: number; html: number; total: number } {
  const gz = (path: string) => gzipSync(readFileSync(path), { level: 9 }).length;
  const js = gz(join(dist, "assets", "app.js"));
  const css = gz(join(dist, "assets", "app.css"));
  const html = gz(join(dist, "index.html"));
  return { js, css, html, total: js + css + html };
}

/**
 * The dashboard's security headers, in web/dist/_headers (wrangler's assets apply it to every file
 * they serve, the single-page fallback included). The CSP allows only the dashboard's own files,
 * plus the one inline script of index.html by its hash; nothing may frame the dashboard.
 */
export function securityHeaders(indexHtml: string): string {
  const inline = [...indexHtml.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    (m) =>
      `'sha256-${createHash("sha256")
        .update(m[1] ?? "")
        .digest("base64")}'`,
  );
  const csp = [
    "default-src 'self'",
    `script-src 'self' ${inline.join(" ")}`.trim(),
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  return `/*
  Content-Security-Policy: ${csp}
  X-Content-Type-Options: nosniff
  X-Frame-Options: DENY
  Referrer-Policy: same-origin
  Cross-Origin-Opener-Policy: same-origin
`;
}

function copyIndex(): void {
  copyFileSync(join(web, "index.html"), join(dist, "index.html"));
  writeFileSync(join(dist, "_headers"), securityHeaders(readFileSync(join(web, "index.html"), "utf8")));
  // Not the dashboard's: the API reads it through its ASSETS binding (core/passwords/policy.ts).
  writeFileSync(join(dist, commonPasswordsPath.slice(1)), `${commonPasswords}\n`);
}

/**
 * Builds web/dist. Files are overwritten in place, never the folder removed: a `wrangler dev`
 * running elsewhere serves it and would fail for a moment without it.
 */
export async function buildWeb(): Promise<void> {
  mkdirSync(join(dist, "assets"), { recursive: true });
  copyIndex();
  await build(options);
}

async function main(): Promise<void> {
  if (process.argv.includes("--watch")) {
    mkdirSync(join(dist, "assets"), { recursive: true });
    copyIndex();
    const ctx = await context(options);
    await ctx.watch();
    console.log("web: watching web/src");
    return;
  }
  await buildWeb();
  const size = bundleSize();
  console.log(
    `web: built web/dist (gzip: js ${(size.js / 1024).toFixed(1)} KiB, css ${(size.css / 1024).toFixed(1)} KiB, total ${(size.total / 1024).toFixed(1)} KiB)`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
