/**
 * A job's dependency cache: restored before its steps, saved after they all succeed. The
 * server picks the entry (exact key, else the newest of a restore prefix) and the scopes; the
 * runner adds its OS, architecture and runtime version to the keys (runner/cache-key.ts).
 * Archives travel as files beside the job (never whole in memory): a download is checked against
 * its size and SHA-256 before anything is unpacked, so a corrupted or truncated entry is skipped
 * with a warning and the job goes on without it. A cache never fails a job.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Job } from "../core/contracts/runner.ts";
import { environmentKeys } from "../core/pipeline/cache.ts";
import { retry } from "./backoff.ts";
import { CacheClient } from "./cache-client.ts";
import { packCache, resolveCachePath, unpackCache, type CacheRoots, type ResolvedCachePath } from "./cache-archive.ts";
import { cacheEnvironmentOf } from "./cache-key.ts";
import { transientRetry, type ControlPlaneClient } from "./client.ts";
import type { OutputSink } from "./logs.ts";

export interface CacheOptions {
  client: ControlPlaneClient;
  job: Job;
  roots: CacheRoots;
  output: OutputSink;
  signal: AbortSignal;
  /**
   * Where archives wait on disk (the runner's work root, which steps never see): not the system's
   * temporary folder, which may be a tmpfs, that is memory.
   */
  scratch?: string;
  /**
   * The front of the job's keys (runner/cache-key.ts: OS, architecture, runtime version), asked
   * once per job; asked here when absent.
   */
  environment?: string;
}

/** What a restore learned, for the save after the steps. */
export interface CachePlan {
  key: string;
  paths: ResolvedCachePath[];
  /** The exact key was restored intact: saving again would store the same. */
  exact: boolean;
  /** Every entry of the archive was restored (none refused as leading out of the cache paths). */
  complete?: boolean;
  /** Where a save goes (from the lookup), null when the lookup failed. */
  writeScope: string | null;
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The cache paths the runner accepts, with a warning in the log for each it refuses. */
export function resolveCachePaths(paths: readonly string[], output: OutputSink): ResolvedCachePath[] {
  const resolved: ResolvedCachePath[] = [];
  for (const path of paths) {
    const one = resolveCachePath(path);
    if ("problem" in one) output.note(`sparki: warning: cache path ${JSON.stringify(path)} ${one.problem}; not cached`);
    else resolved.push(one);
  }
  return resolved;
}

/** Restores the job's cache, if it has one; null when it caches nothing. */
export async function restoreCache(opts: CacheOptions): Promise<CachePlan | null> {
  const { job, output } = opts;
  if (!job.cache) return null;
  const paths = resolveCachePaths(job.cache.paths, output);
  if (paths.length === 0) return null;
  const { key, restoreKeys } = environmentKeys(job.cache, opts.environment ?? (await cacheEnvironmentOf(job.cache.runtime)));
  return restoreEntry(opts, key, restoreKeys, paths);
}

/**
 * Restores the entry of `key` (else the newest of a restore prefix) into `paths`. `what` names it
 * in the log: "cache" for a dependency cache, "install" for a build's install result.
 */
export async function restoreEntry(opts: CacheOptions, key: string, restoreKeys: string[], paths: ResolvedCachePath[], what = "cache"): Promise<CachePlan> {
  const { job, output, signal } = opts;
  const plan: CachePlan = { key, paths, exact: false, writeScope: null };
  const started = performance.now();
  const caches = new CacheClient(opts.client, job.jobId, { leaseId: job.leaseId, fencingToken: job.fencingToken });
  let found: Awaited<ReturnType<CacheClient["lookup"]>>;
  try {
    found = await retry(() => caches.lookup(key, restoreKeys, signal), transientRetry(3, signal));
  } catch (err) {
    if (signal.aborted) throw err;
    output.note(`sparki: warning: ${what} lookup failed (${message(err)}); continuing without a cache`);
    return plan;
  }
  plan.writeScope = found.writeScope;
  const entry = found.entry;
  if (!entry) {
    output.note(`sparki: no ${what} for ${key}${restoreKeys.length > 0 ? ` nor ${restoreKeys.map((p) => `${p}*`).join(", ")}` : ""}`);
    return plan;
  }
  const tmp = await mkdtemp(join(opts.scratch ?? tmpdir(), "sparki-cache-"));
  try {
    const file = join(tmp, "cache.tar.gz");
    const hash = createHash("sha256");
    let received = 0;
    let downloaded = started;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(await caches.download(entry.id, signal), count, createWriteStream(file));
      downloaded = performance.now();
    } catch (err) {
      if (signal.aborted) throw err;
      output.note(`sparki: warning: ${what} ${entry.key} could not be downloaded (${message(err)}); continuing without it`);
      return plan;
    }
    const sha256 = hash.digest("hex");
    if (received !== entry.size || sha256 !== entry.sha256) {
      output.note(
        `sparki: warning: ${what} ${entry.key} is corrupted or truncated (${received} of ${entry.size} bytes, sha256 ${sha256.slice(0, 12)}, expected ${entry.sha256.slice(0, 12)}); continuing without it`,
      );
      return plan;
    }
    try {
      const { refused } = await unpackCache(file, opts.roots, paths);
      plan.complete = refused.length === 0;
      if (refused.length > 0) output.note(`sparki: warning: ${refused.length} ${what} entries not restored: ${refused.slice(0, 3).join("; ")}`);
    } catch (err) {
      output.note(`sparki: warning: ${what} ${entry.key} could not be unpacked (${message(err)}); continuing without it`);
      return plan;
    }
    plan.exact = found.exact;
    output.note(
      `sparki: restored ${what} ${entry.key} (${found.exact ? "exact key" : "restore prefix"}, from ${entry.scope}, ${mib(entry.size)}) in ${secs(performance.now() - started)} (download ${secs(downloaded - started)}, unpack ${secs(performance.now() - downloaded)})`,
    );
    return plan;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Saves the cache after a successful job, unless the exact key was restored. */
export async function saveCache(opts: CacheOptions, plan: CachePlan, what = "cache"): Promise<void> {
  const { output, signal, job } = opts;
  if (plan.exact) {
    output.note(`sparki: ${what} ${plan.key} was restored on its exact key; not saved again`);
    return;
  }
  const started = performance.now();
  const tmp = await mkdtemp(join(opts.scratch ?? tmpdir(), "sparki-cache-"));
  try {
    const file = join(tmp, "cache.tar.gz");
    const { packed, skipped } = await packCache(opts.roots, plan.paths, file);
    if (skipped.length > 0) output.note(`sparki: warning: not cached: ${skipped.join(", ")}`);
    if (packed.length === 0) {
      output.note(`sparki: nothing to save: none of the ${what} paths exists`);
      return;
    }
    const { size } = await stat(file);
    const packedAt = performance.now();
    const caches = new CacheClient(opts.client, job.jobId, { leaseId: job.leaseId, fencingToken: job.fencingToken });
    const sha256 = await fileSha256(file);
    const place = await retry(() => caches.reserve(plan.key, size, sha256, signal), transientRetry(3, signal));
    const uploadUrl = place.uploadUrl;
    // With R2's S3 credentials configured the archive goes straight to R2, else through the API.
    const saved = uploadUrl
      ? await retry(
          async () => {
            await caches.uploadPresigned(uploadUrl, place.headers, file, size, signal);
            return caches.commit(place.entryId, plan.key, size, sha256, signal);
          },
          transientRetry(3, signal),
        )
      : await retry(() => caches.upload(plan.key, plan.writeScope, file, size, signal), transientRetry(3, signal));
    output.note(
      `sparki: saved ${what} ${saved.key} (to ${saved.scope}, ${mib(saved.size)}) in ${secs(performance.now() - started)} (pack ${secs(packedAt - started)}, upload ${secs(performance.now() - packedAt)})`,
    );
  } catch (err) {
    if (signal.aborted) throw err;
    output.note(`sparki: warning: ${what} not saved: ${message(err)}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
