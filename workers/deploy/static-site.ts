/**
 * `sparki-static`, the built-in deployment target: a build's output directory (the runner's
 * .tar.gz artifact) unpacked into R2 as one immutable deployment, and served by the Worker
 * through a per-stage alias. Switching the alias is one row update, so deploy, blue-green and
 * rollback are atomic; a canary alias sends a share of requests to a second deployment.
 */
import { parseTarGzip } from "nanotar";
import { SparkiError } from "../../core/errors.js";

/** Limits on one site: enough for any static site, small enough to unpack in one isolate. */
export const siteLimits = { maxFiles: 10_000, maxBytes: 100 * 1024 * 1024 } as const;

export const sitePrefix = (projectId: string, deploymentId: string) => `projects/${projectId}/deployments/${deploymentId}/site/`;

/** A safe site path from a tar entry name, or null for entries that are not plain files inside. */
export function siteFilePath(entryName: string): string | null {
  const parts = entryName.replace(/^\.\/+/, "").split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.some((p) => p === ".." || /[\x00-\x1f\\]/.test(p))) return null;
  return parts.join("/");
}

/**
 * Unpacks a .tar.gz into R2 under the deployment's prefix. Entries that are not regular files
 * (links, devices) or that would land outside the prefix are skipped. Returns what was written.
 */
export async function publishSite(bucket: R2Bucket, projectId: string, deploymentId: string, archive: ArrayBuffer): Promise<{ files: number; bytes: number }> {
  if (archive.byteLength > siteLimits.maxBytes) throw new SparkiError("payload_too_large", { detail: `The site archive is over ${siteLimits.maxBytes} bytes.` });
  let entries;
  try {
    entries = await parseTarGzip(archive);
  } catch (cause) {
    throw new SparkiError("validation", { detail: "The artifact is not a .tar.gz of a directory.", cause });
  }
  const files = entries.filter((e) => (e.type === "file" || e.type === undefined) && e.data);
  if (files.length > siteLimits.maxFiles) throw new SparkiError("payload_too_large", { detail: `The site has more than ${siteLimits.maxFiles} files.` });
  let written = 0;
  let bytes = 0;
  const prefix = sitePrefix(projectId, deploymentId);
  for (const entry of files) {
    const path = siteFilePath(entry.name);
    if (!path || !entry.data) continue;
    await bucket.put(prefix + path, entry.data, { httpMetadata: { contentType: contentTypeOf(path) } });
    written += 1;
    bytes += entry.data.byteLength;
  }
  if (written === 0) throw new SparkiError("validation", { detail: "The site archive holds no files." });
  return { files: written, bytes };
}

/** Where a stage's traffic goes: its deployment, and optionally a canary taking `canaryPercent`. */
export interface SiteAlias {
  deploymentId: string;
  canaryDeploymentId: string | null;
  canaryPercent: number;
}

/** Picks the deployment for one request; `roll` is uniform in [0, 100). */
export function pickDeployment(alias: SiteAlias, roll: number): string {
  return alias.canaryDeploymentId && roll < alias.canaryPercent ? alias.canaryDeploymentId : alias.deploymentId;
}

/** The object to serve for a request path: the file, `index.html` for directories and the root. */
export function objectKeysFor(path: string): string[] {
  const clean = path.replace(/^\/+/, "");
  if (clean === "" || clean.endsWith("/")) return [`${clean}index.html`];
  return [clean, `${clean}/index.html`, `${clean}.html`];
}

const types: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  json: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
  xml: "application/xml",
  wasm: "application/wasm",
  woff: "font/woff",
  woff2: "font/woff2",
  map: "application/json",
  webmanifest: "application/manifest+json",
};

export function contentTypeOf(path: string): string {
  const ext = path.split(".").pop()?.toLowerCase() ?? "";
  return types[ext] ?? "application/octet-stream";
}
