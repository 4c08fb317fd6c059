/**
 * Before its steps, a job receives the artifacts of the jobs it `needs` (the server says which:
 * workers/routes/runner-needs.ts) into `<job dir>/artifacts/<name>`, which steps find in
 * SPARKI_ARTIFACTS_DIR: a file artifact as that file, a directory artifact unpacked into that
 * folder. Each download goes to a file beside the job while its size and SHA-256 are checked
 * (never whole in memory), and a directory is unpacked with the reader written for untrusted
 * archives (core/archive/tar-reader.ts): a '..' or absolute path, a link, a device, more files
 * or bytes than the limits allow (an inflation bomb) refuse the whole artifact, and the job fails
 * with the reason rather than run its steps without its input.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gunzip } from "../core/archive/gunzip.ts";
import { readTar, type TarLimits } from "../core/archive/tar-reader.ts";
import type { Job, NeededArtifact } from "../core/contracts/runner.ts";
import { ArtifactClient } from "./artifact-client.ts";
import { retry } from "./backoff.ts";
import { transientRetry, type ControlPlaneClient } from "./client.ts";
import type { OutputSink } from "./logs.ts";

const GiB = 1024 * 1024 * 1024;

/** How far a directory artifact may unpack: well past real build outputs, short of filling a disk. */
export const defaultUnpackLimits: TarLimits = { maxTotalBytes: 8 * GiB, maxFiles: 200_000, maxFileBytes: 4 * GiB };

/** Where a job's needed artifacts go: beside the checkout, in the job's own folder (which a sandboxed step sees). */
export const neededArtifactsDir = (jobDir: string) => join(jobDir, "artifacts");

export interface ReceiveOptions {
  client: ControlPlaneClient;
  job: Job;
  /** The folder the artifacts go into ({@link neededArtifactsDir}). */
  dir: string;
  signal: AbortSignal;
  output: OutputSink;
  /** Where downloads wait while they are checked; the system's temporary folder by default. */
  scratch?: string;
  limits?: TarLimits;
}

export type ReceiveResult = { ok: true; received: string[] } | { ok: false; error: string };

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A path inside `root`, or null when `rel` would leave it. */
function inside(root: string, rel: string): string | null {
  const target = resolve(root, rel);
  const back = relative(root, target);
  return back === "" || back.startsWith("..") || isAbsolute(back) ? null : target;
}

/** Downloads and places every artifact of the jobs this job needs. */
export async function receiveNeeded(opts: ReceiveOptions): Promise<ReceiveResult> {
  const { job, signal, output } = opts;
  const artifacts = new ArtifactClient(opts.client, job.jobId, { leaseId: job.leaseId, fencingToken: job.fencingToken });
  const transient = transientRetry(4, signal);
  let needed: NeededArtifact[];
  try {
    needed = await retry(() => artifacts.needed(signal), transient);
  } catch (err) {
    if (signal.aborted) throw err;
    return { ok: false, error: `could not list the artifacts of the jobs this job needs: ${message(err)}` };
  }
  // A build's folder may be kept from an earlier job of the build (runner/workspace.ts): what that
  // job received, or its steps left here, must not pass for this job's needs.
  await rm(opts.dir, { recursive: true, force: true });
  if (needed.length === 0) return { ok: true, received: [] };
  await mkdir(opts.dir, { recursive: true });
  const tmp = await mkdtemp(join(opts.scratch ?? tmpdir(), "sparki-needs-"));
  const received: string[] = [];
  try {
    for (const artifact of needed) {
      const started = performance.now();
      const target = inside(opts.dir, artifact.name);
      if (!target) return { ok: false, error: `artifact ${artifact.name}: its name leads outside ${opts.dir}` };
      const file = join(tmp, "download");
      try {
        await retry(() => download(artifacts, artifact, file, signal), transient);
        await mkdir(dirname(target), { recursive: true });
        if (artifact.kind === "file") await rename(file, target);
        else await unpack(file, target, opts.limits ?? defaultUnpackLimits);
      } catch (err) {
        if (signal.aborted) throw err;
        await rm(target, { recursive: true, force: true });
        const why = `artifact ${artifact.name} of job ${artifact.jobId} refused: ${message(err)}`;
        output.note(`sparki: ${why}`);
        return { ok: false, error: why };
      } finally {
        await rm(file, { force: true });
      }
      output.note(
        `sparki: received ${artifact.name} (${artifact.kind}, ${mib(artifact.size)}, sha256 ${artifact.sha256.slice(0, 12)}) from job ${artifact.jobId} into ${target} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      received.push(artifact.name);
    }
    return { ok: true, received };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The stored bytes are not the ones listed (not retried: neither HttpError nor NetworkError). */
class ChecksumError extends Error {
  override readonly name = "ChecksumError";
}

/** Streams the artifact to `file`, checking its length and SHA-256 as it comes. */
async function download(artifacts: ArtifactClient, artifact: NeededArtifact, file: string, signal: AbortSignal): Promise<void> {
  const hash = createHash("sha256");
  let received = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.byteLength;
      // Past the listed size the rest is not wanted: stop before it fills the disk.
      if (received > artifact.size) return done(new ChecksumError(`more than the listed ${artifact.size} bytes arrived`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(await artifacts.download(artifact.name, signal), count, createWriteStream(file));
  const sha256 = hash.digest("hex");
  if (received !== artifact.size || sha256 !== artifact.sha256) {
    throw new ChecksumError(`got ${received} of ${artifact.size} bytes with sha256 ${sha256.slice(0, 12)}, expected ${artifact.sha256.slice(0, 12)}`);
  }
}

/** Unpacks a .tar.gz into `target` (a new folder), only plain files and folders within it. */
async function unpack(file: string, target: string, limits: TarLimits): Promise<void> {
  await mkdir(target);
  const stream = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
  await readTar(gunzip(stream), limits, async (entry) => {
    const path = inside(target, entry.path);
    if (!path) throw new Error(`entry ${entry.path} leads outside the artifact`);
    await mkdir(dirname(path), { recursive: true });
    // "wx": never through something already there (the reader passes no links, but a file may repeat).
    await pipeline(Readable.from(entry.chunks), createWriteStream(path, { flags: "wx" }));
  });
}
