/**
 * The artifact loop: each declared path is streamed to the control plane, a file as it is,
 * a directory as a gzipped tar. Paths are resolved inside the checkout and refused when they
 * (or a symlink on the way) lead outside it, so a job cannot upload the runner's own files.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { create as createTar } from "tar";
import { ArtifactName, relativePathProblem, type Job } from "../core/contracts/runner.ts";
import { retry } from "./backoff.ts";
import { HttpError, isRetryable, type ControlPlaneClient } from "./client.ts";
import type { OutputSink } from "./logs.ts";

export interface ArtifactUploadOptions {
  client: ControlPlaneClient;
  job: Job;
  /** The checkout: every path is relative to it. */
  dir: string;
  signal: AbortSignal;
  output: OutputSink;
  /** When the steps failed, missing paths are expected (the build stopped early). */
  requireAll: boolean;
}

/** What happened to the declared artifacts; `problems` empty means all went well. */
export interface ArtifactUploadResult {
  uploaded: string[];
  problems: string[];
}

/** The real path of `path` inside `root`, or why it is refused or missing. */
export async function resolveInside(
  root: string,
  path: string,
): Promise<{ ok: true; path: string; directory: boolean } | { ok: false; reason: string; missing: boolean }> {
  const problem = relativePathProblem(path);
  if (problem) return { ok: false, reason: `path ${problem}`, missing: false };
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(resolve(realRoot, path));
  } catch {
    return { ok: false, reason: "does not exist", missing: true };
  }
  const rel = relative(realRoot, real);
  if (rel.startsWith("..") || isAbsolute(rel)) return { ok: false, reason: "leads outside the checkout", missing: false };
  const info = await stat(real);
  return { ok: true, path: real, directory: info.isDirectory() };
}

/** Uploads every artifact the job declares. */
export async function uploadArtifacts(opts: ArtifactUploadOptions): Promise<ArtifactUploadResult> {
  const result: ArtifactUploadResult = { uploaded: [], problems: [] };
  const lease = { leaseId: opts.job.leaseId, fencingToken: opts.job.fencingToken };
  for (const artifact of opts.job.artifacts) {
    if (opts.signal.aborted) break;
    if (!ArtifactName.safeParse(artifact.name).success) {
      result.problems.push(`artifact name ${JSON.stringify(artifact.name)} is not valid`);
      continue;
    }
    const found = await resolveInside(opts.dir, artifact.path);
    if (!found.ok) {
      if (found.missing && !opts.requireAll) continue;
      const message = `artifact ${artifact.name}: ${artifact.path} ${found.reason}`;
      opts.output.note(message);
      result.problems.push(message);
      continue;
    }
    const kind = found.directory ? "directory" : "file";
    // The store needs each upload's length up front, so a directory is packed to a file first.
    const packed = found.directory ? await packDirectory(found.path) : { file: found.path, cleanup: async () => undefined };
    try {
      const { size } = await stat(packed.file);
      // A fresh stream per attempt: a half-sent body cannot be replayed.
      const sent = await retry(() => opts.client.uploadArtifact(opts.job.jobId, artifact.name, lease, kind, createReadStream(packed.file), size, opts.signal), {
        attempts: 4,
        shouldRetry: isRetryable,
        retryAfterMs: (err) => (err instanceof HttpError ? (err.retryAfterMs ?? 0) : 0),
        signal: opts.signal,
      });
      opts.output.note(`uploaded ${artifact.name} (${kind}, ${sent.size} bytes, sha256 ${sent.sha256.slice(0, 12)})`);
      result.uploaded.push(artifact.name);
    } catch (err) {
      if (opts.signal.aborted) break;
      const message = `artifact ${artifact.name}: upload failed: ${err instanceof Error ? err.message : String(err)}`;
      opts.output.note(message);
      result.problems.push(message);
    } finally {
      await packed.cleanup();
    }
  }
  return result;
}

/** A directory as a gzipped tar in a temporary file, removed by `cleanup`. */
async function packDirectory(dir: string): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const tmp = await mkdtemp(join(tmpdir(), "sparki-artifact-"));
  const file = join(tmp, "artifact.tar.gz");
  await pipeline(createTar({ gzip: true, cwd: dir, portable: true }, ["."]), createWriteStream(file));
  return { file, cleanup: () => rm(tmp, { recursive: true, force: true }) };
}
