/**
 * Vercel adapter over the REST API (https://vercel.com/docs/rest-api). A deploy downloads the
 * build's .tar.gz, uploads each file to `POST /v2/files` keyed by its SHA-1, then creates a
 * production deployment referencing those SHAs with `POST /v13/deployments`. Rollback is Vercel's
 * Instant Rollback, `POST /v1/projects/{projectId}/rollback/{deploymentId}`.
 */
import { createHash } from "node:crypto";
import { posix } from "node:path";
import { z } from "zod";
import { gunzip } from "../../../core/archive/gunzip.ts";
import { readTar, type TarLimits } from "../../../core/archive/tar-reader.ts";
import {
  localProblems,
  PlatformError,
  type DeployContext,
  type PlatformAdapter,
  type PlatformDeployment,
  type PlatformState,
} from "../../../core/deploy/adapter.ts";
import { OutboundRefused } from "../../../core/net/outbound.ts";
import { PlatformClient } from "../platform-http.ts";

const DEFAULT_API = "https://api.vercel.com";
const TOKEN = "VERCEL_TOKEN";

/** sparki.yml settings: the project by name or id, the team when the project is not personal. */
export const vercelSettings = z
  .strictObject({
    projectName: z.string().min(1).optional(),
    projectId: z.string().min(1).optional(),
    teamId: z.string().min(1).optional(),
    apiUrl: z.url().optional(),
  })
  .refine((s) => s.projectName !== undefined || s.projectId !== undefined, { message: "projectName or projectId is required" });
export type VercelSettings = z.infer<typeof vercelSettings>;

const vercelError = z.object({ error: z.looseObject({ code: z.string(), message: z.string(), missing: z.array(z.string()).optional() }) });
const project = z.object({ id: z.string(), name: z.string() });
/** Documented readyState values of a deployment. */
const readyState = z.enum(["QUEUED", "BUILDING", "INITIALIZING", "READY", "ERROR", "CANCELED"]);
const deployment = z.object({ id: z.string(), url: z.string(), readyState, projectId: z.string().optional() });

/** One file of the artifact, as uploaded. */
export interface ArtifactFile {
  file: string;
  sha: string;
  size: number;
  data: Buffer;
}

/** The SHAs Vercel names in a `missing_files` answer (kept in the error's details). */
const missingShas = z.array(z.string()).catch([]);

class VercelApi {
  readonly http: PlatformClient;

  constructor(
    ctx: DeployContext,
    readonly s: VercelSettings,
  ) {
    this.http = new PlatformClient(ctx, {
      platform: "vercel",
      baseUrl: s.apiUrl ?? DEFAULT_API,
      tokenName: TOKEN,
      // Every endpoint takes teamId to act on the team's behalf; without it the token's personal scope is used.
      ...(s.teamId ? { query: { teamId: s.teamId } } : {}),
      problemOf: (status, body) => {
        const e = vercelError.safeParse(body);
        if (status < 400 || !e.success) return null;
        const { code, message, missing } = e.data.error;
        return { message: `${message} [${code}]`, code, ...(missing ? { details: missing } : {}) };
      },
    });
  }

  async project(): Promise<z.infer<typeof project>> {
    return this.http.request({
      method: "GET",
      path: `/v9/projects/${encodeURIComponent(this.s.projectId ?? this.s.projectName ?? "")}`,
      answer: project,
      idempotent: true,
    });
  }

  /** Idempotent: files are stored by their SHA-1, so the same upload twice stores one blob. */
  async upload(f: ArtifactFile): Promise<void> {
    await this.http.request({
      method: "POST",
      path: "/v2/files",
      body: f.data,
      headers: { "content-type": "application/octet-stream", "x-vercel-digest": f.sha, "content-length": String(f.size) },
      answer: z.unknown(),
      idempotent: true,
      // A large file on a slow link takes longer than a JSON call.
      timeoutMs: 120_000,
    });
  }

  /** Not idempotent: each accepted request is a new deployment (and a new build). */
  async create(body: unknown): Promise<PlatformDeployment> {
    return toPlatform(await this.http.request({ method: "POST", path: "/v13/deployments", json: body, answer: deployment, idempotent: false }));
  }

  async deployment(id: string): Promise<z.infer<typeof deployment>> {
    return this.http.request({ method: "GET", path: `/v13/deployments/${encodeURIComponent(id)}`, answer: deployment, idempotent: true });
  }

  /** Idempotent: it points production at one deployment, and pointing it there twice is pointing it there once. */
  async rollback(projectId: string, deploymentId: string, description: string): Promise<void> {
    const q = new URLSearchParams({ description });
    const path = `/v1/projects/${encodeURIComponent(projectId)}/rollback/${encodeURIComponent(deploymentId)}?${q}`;
    await this.http.request({ method: "POST", path, answer: z.unknown(), idempotent: true });
  }
}

function settingsOf(ctx: DeployContext): VercelSettings {
  return vercelSettings.parse(ctx.settings);
}

function toFile(file: string, data: Buffer): ArtifactFile {
  return { file, data, size: data.length, sha: createHash("sha1").update(data).digest("hex") };
}

/** Paths inside the archive, relative and never escaping it (a hostile tar could hold `../x`). */
function cleanPath(raw: string): string | null {
  const p = posix.normalize(raw.replace(/\\/g, "/")).replace(/^(\.\/)+/, "");
  if (p === "" || p === "." || p.startsWith("../") || p === ".." || p.startsWith("/")) return null;
  return p;
}

const MiB = 1024 * 1024;
/** Every file is held in memory until the upload: the archive must fit in an isolate's 128 MiB. */
const artifactLimits: TarLimits = { maxTotalBytes: 100 * MiB, maxFiles: 100_000, maxFileBytes: 100 * MiB };

/**
 * Reads the files of a .tar.gz body (what runners upload) as it streams in, with the same reader
 * as sparki-static sites. Links are passed over: Vercel takes files only.
 */
export async function readTarball(body: ReadableStream<Uint8Array>): Promise<ArtifactFile[]> {
  const files: ArtifactFile[] = [];
  await readTar(
    gunzip(body),
    artifactLimits,
    async (file) => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of file.chunks) chunks.push(chunk.slice());
      files.push(toFile(file.path, Buffer.concat(chunks)));
    },
    { skipLinks: true },
  );
  return files;
}

async function artifactFiles(ctx: DeployContext): Promise<ArtifactFile[]> {
  const res = await ctx.fetch(ctx.artifact.url, { signal: ctx.signal });
  if (!res.ok || !res.body) throw new Error(`artifact download failed: HTTP ${res.status}`);
  if (ctx.artifact.kind === "file") {
    const name = cleanPath(decodeURIComponent(new URL(ctx.artifact.url).pathname.split("/").pop() ?? "")) ?? "index.html";
    return [toFile(name, Buffer.from(await res.arrayBuffer()))];
  }
  const files = await readTarball(res.body as ReadableStream<Uint8Array>);
  if (files.length === 0) throw new Error("artifact holds no files");
  return files;
}

function toPlatform(d: z.infer<typeof deployment>): PlatformDeployment {
  return { id: d.id, url: d.url ? `https://${d.url}` : null };
}

/** Vercel REST API adapter. */
export const vercelAdapter: PlatformAdapter = {
  platform: "vercel",
  apiOrigin: new URL(DEFAULT_API).origin,
  settings: vercelSettings,
  credentials: [TOKEN],

  async validate(ctx) {
    const { problems, settings: s } = localProblems("vercel", [TOKEN], vercelSettings, ctx);
    if (problems.length > 0 || !s) return problems;
    try {
      await new VercelApi(ctx, s).project();
    } catch (err) {
      if (!(err instanceof PlatformError || err instanceof OutboundRefused)) throw err;
      const which = s.projectId ?? s.projectName;
      problems.push(err instanceof PlatformError && err.status === 404 ? `vercel project ${which} not found (${err.message})` : err.message);
    }
    return problems;
  },

  async deploy(ctx) {
    const api = new VercelApi(ctx, settingsOf(ctx));
    const proj = await api.project();
    const files = await artifactFiles(ctx);
    // Identical contents share one SHA: upload each blob once.
    const bySha = new Map(files.map((f) => [f.sha, f]));
    for (const f of bySha.values()) await api.upload(f);
    const body = {
      name: proj.name,
      project: proj.id,
      target: "production",
      files: files.map(({ file, sha, size }) => ({ file, sha, size })),
      // A prebuilt output: no framework detection or build step on Vercel's side.
      projectSettings: { framework: null, buildCommand: null, installCommand: null, outputDirectory: null },
      meta: { sparkiDeploymentId: ctx.deploymentId, sparkiStage: ctx.stage, commitSha: ctx.commitSha },
    };
    try {
      return await api.create(body);
    } catch (err) {
      // Vercel may have dropped an upload (they expire); it names them, so send those and try once more.
      const missing = err instanceof PlatformError && err.code === "missing_files" ? missingShas.parse(err.details) : [];
      if (missing.length === 0) throw err;
      for (const sha of missing) {
        const f = bySha.get(sha);
        if (f) await api.upload(f);
      }
      return api.create(body);
    }
  },

  async state(ctx, d): Promise<PlatformState> {
    const { readyState: s } = await new VercelApi(ctx, settingsOf(ctx)).deployment(d.id);
    if (s === "READY") return "ready";
    if (s === "ERROR" || s === "CANCELED") return "failed";
    return "pending";
  },

  async rollback(ctx, to) {
    const api = new VercelApi(ctx, settingsOf(ctx));
    const target = await api.deployment(to.id);
    if (target.readyState !== "READY") throw new PlatformError("vercel", 409, `cannot roll back to ${to.id}: it is ${target.readyState}`);
    const projectId = target.projectId ?? (await api.project()).id;
    await api.rollback(projectId, to.id, `sparki rollback of ${ctx.stage} (${ctx.deploymentId})`);
    return toPlatform(target);
  },
};
