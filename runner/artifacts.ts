/**
 * The artifact loop: each declared path goes to R2, a file as it is, a directory as a gzipped
 * tar. With R2's S3 credentials configured the server hands out a presigned URL and the bytes go
 * straight to R2; otherwise they stream through the API. Either way the file is sent from disk
 * with its length and SHA-256 (which the jobs that need it check). Paths are resolved inside the
 * checkout and refused when they (or a symlink on the way) lead outside it, so a job cannot
 * upload the runner's own files.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { create as createTar } from "tar";
import { ArtifactName, relativePathProblem, type Job } from "../core/contracts/runner.ts";
import { retry } from "./backoff.ts";
import { ArtifactClient } from "./artifact-client.ts";
import { putFile } from "./cache-client.ts";
import { transientRetry, type ControlPlaneClient } from "./client.ts";
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
      const sent = await sendFile(opts, { name: artifact.name, kind, file: packed.file });
      opts.output.note(`uploaded ${artifact.name} (${kind}, ${sent.size} bytes, sha256 ${sent.sha256.slice(0, 12)}${sent.direct ? ", straight to R2" : ""})`);
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

const transient = (signal: AbortSignal) => transientRetry(4, signal);

/** Uploads one file: to a presigned R2 URL when the server hands one out, else through the API. */
async function sendFile(opts: ArtifactUploadOptions, artifact: { name: string; kind: "file" | "directory"; file: string }) {
  const { size } = await stat(artifact.file);
  const sha256 = await fileSha256(artifact.file);
  const lease = { leaseId: opts.job.leaseId, fencingToken: opts.job.fencingToken };
  const described = { name: artifact.name, kind: artifact.kind, size, sha256 };
  const artifacts = new ArtifactClient(opts.client, opts.job.jobId, lease);
  const place = await retry(() => artifacts.reserve(described, opts.signal), transient(opts.signal));
  const uploadUrl = place.uploadUrl;
  if (uploadUrl) {
    // Each attempt reads the file afresh: a half-sent body cannot be replayed.
    const sent = await retry(async () => {
      await putFile(uploadUrl, place.headers, artifact.file, size, opts.signal);
      return artifacts.commit(described, opts.signal);
    }, transient(opts.signal));
    return { ...sent, direct: true };
  }
  const sent = await retry(
    () => opts.client.uploadArtifact(opts.job.jobId, artifact.name, lease, artifact.kind, createReadStream(artifact.file), size, opts.signal, sha256),
    transient(opts.signal),
  );
  return { ...sent, direct: false };
}

/** The SHA-256 of a file, read as a stream. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** A directory as a gzipped tar in a temporary file, removed by `cleanup`. */
async function packDirectory(dir: string): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const tmp = await mkdtemp(join(tmpdir(), "sparki-artifact-"));
  const file = join(tmp, "artifact.tar.gz");
  await pipeline(createTar({ gzip: true, cwd: dir, portable: true }, ["."]), createWriteStream(file));
  return { file, cleanup: () => rm(tmp, { recursive: true, force: true }) };
}
