/**
 * `sparki-static`, the built-in deployment target: a build's output directory (the runner's
 * .tar.gz artifact) unpacked into R2 as one immutable deployment, and served by the Worker
 * through a per-stage alias. Switching the alias is one row update, so deploy, blue-green and
 * rollback are atomic; a canary alias sends a share of requests to a second deployment.
 */
import { gunzip, GzipError } from "../../core/archive/gunzip.ts";
import { entryPath, readTar, TarError, type TarLimits } from "../../core/archive/tar-reader.ts";
import type { Config } from "../config.js";
import { sitePrefix } from "../r2-keys.js";

const MiB = 1024 * 1024;

/** The limits on one site from the Worker's variables (SITE_MAX_MIB, SITE_MAX_FILES, SITE_MAX_FILE_MIB). */
export function siteLimitsOf(config: Pick<Config, "SITE_MAX_MIB" | "SITE_MAX_FILES" | "SITE_MAX_FILE_MIB">): TarLimits {
  return { maxTotalBytes: Math.floor(config.SITE_MAX_MIB * MiB), maxFiles: config.SITE_MAX_FILES, maxFileBytes: Math.floor(config.SITE_MAX_FILE_MIB * MiB) };
}

/** The defaults of those variables: 500 MiB inflated, 20,000 files, 100 MiB a file. */
export const defaultSiteLimits = siteLimitsOf({ SITE_MAX_MIB: 500, SITE_MAX_FILES: 20_000, SITE_MAX_FILE_MIB: 100 });

/** A safe site path from a tar entry name, or null for one that escapes or names the root. */
export function siteFilePath(entryName: string): string | null {
  const found = entryPath(entryName);
  return "path" in found && found.path !== "" ? found.path : null;
}

/** Publishing refused: the archive is over a limit or not a plain tree of files. Nothing was kept. */
export class SiteRefused extends Error {
  override readonly name = "SiteRefused";
}

/** A site's .tar.gz: its bytes, or a way to stream it from its start (publishing reads it twice). */
export type SiteArchive = ArrayBuffer | Uint8Array | (() => Promise<ReadableStream<Uint8Array>>);

/**
 * Unpacks a .tar.gz into R2 under the deployment's prefix, one file at a time as it inflates, so
 * memory holds a chunk and never the archive or a file. A first read writes nothing: an archive
 * over a limit, or holding a link, a device or an escaping path, is refused with
 * {@link SiteRefused} (a reason fit for the deployment's events) before any byte reaches R2, so a
 * bomb costs its inflation and no writes. Should the second read still fail, what it wrote under
 * the prefix is deleted.
 */
export async function publishSite(
  bucket: R2Bucket,
  projectId: string,
  deploymentId: string,
  archive: SiteArchive,
  limits: TarLimits = defaultSiteLimits,
): Promise<{ files: number; bytes: number; peakHeldBytes: number }> {
  const prefix = sitePrefix(projectId, deploymentId);
  const open = typeof archive === "function" ? archive : async () => new Blob([archive]).stream();
  try {
    const scanned = await readTar(gunzip(await open()), limits, async () => undefined);
    if (scanned.files === 0) throw new SiteRefused("the site archive holds no files");
    const summary = await readTar(gunzip(await open()), limits, async (file) => {
      const options = { httpMetadata: { contentType: contentTypeOf(file.path) } };
      if (file.size === 0) {
        await bucket.put(prefix + file.path, "", options);
        return;
      }
      // R2 needs the length of a streamed body; the tar header gives it, and the stream enforces it.
      const body = new FixedLengthStream(file.size);
      const stored = bucket.put(prefix + file.path, body.readable, options);
      const writer = body.writable.getWriter();
      try {
        for await (const chunk of file.chunks) await writer.write(chunk);
        await writer.close();
      } catch (err) {
        await writer.abort(err).catch(() => undefined);
        await stored.catch(() => undefined);
        throw err;
      }
      await stored;
    });
    return { files: summary.files, bytes: summary.fileBytes, peakHeldBytes: Math.max(scanned.peakHeldBytes, summary.peakHeldBytes) };
  } catch (err) {
    await deletePrefix(bucket, prefix);
    if (err instanceof SiteRefused) throw err;
    if (err instanceof TarError) throw new SiteRefused(`the site was not published: ${err.message}`);
    if (err instanceof GzipError) throw new SiteRefused("the site was not published: the artifact is not a .tar.gz of a directory");
    throw err;
  }
}

/** Deletes every object under `prefix` (R2 deletes at most 1000 keys per call). */
async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<void> {
  for (;;) {
    const listed = await bucket.list({ prefix, limit: 1000 });
    if (listed.objects.length === 0) return;
    await bucket.delete(listed.objects.map((o) => o.key));
    if (!listed.truncated) return;
  }
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
