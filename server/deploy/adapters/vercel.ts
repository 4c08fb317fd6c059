/**
 * Vercel adapter over the REST API (https://vercel.com/docs/rest-api). A deploy downloads the
 * build's .tar.gz, uploads each file to `POST /v2/files` keyed by its SHA-1, then creates a
 * production deployment referencing those SHAs with `POST /v13/deployments`. Rollback is Vercel's
 * Instant Rollback, `POST /v1/projects/{projectId}/rollback/{deploymentId}`.
 */
import { createHash } from "node:crypto";
import { posix } from "node:path";
import { Parser, type ReadEntry } from "tar";
import { z } from "zod";
import { localProblems, PlatformError, type DeployContext, type PlatformAdapter, type PlatformDeployment, type PlatformState } from "../../../core/deploy/adapter.ts";

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

/** A PlatformError that also keeps Vercel's `missing` list, so a deploy can upload what was lost. */
class VercelError extends PlatformError {
  constructor(status: number, message: string, readonly code: string, readonly missing: string[]) {
    super("vercel", status, message, status === 429 || status >= 500);
  }
}

class VercelApi {
  constructor(private readonly ctx: DeployContext, readonly s: VercelSettings) {}

  async call(method: string, path: string, init: { json?: unknown; body?: Buffer; headers?: Record<string, string> } = {}): Promise<unknown> {
    const url = new URL(`${(this.s.apiUrl ?? DEFAULT_API).replace(/\/$/, "")}${path}`);
    // Every endpoint takes teamId to act on the team's behalf; without it the token's personal scope is used.
    if (this.s.teamId) url.searchParams.set("teamId", this.s.teamId);
    const headers: Record<string, string> = { authorization: `Bearer ${this.ctx.credentials[TOKEN] ?? ""}`, ...init.headers };
    if (init.json !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.ctx.fetch(url, {
        method,
        headers,
        body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
        signal: this.ctx.signal,
      });
    } catch (err) {
      throw new VercelError(0, `API unreachable: ${(err as Error).message}`, "unreachable", []);
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? (JSON.parse(text) as unknown) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      const e = vercelError.safeParse(json);
      const retryAfter = res.headers.get("retry-after");
      const suffix = res.status === 429 && retryAfter ? ` (retry after ${retryAfter}s)` : "";
      const message = e.success ? `${e.data.error.message} [${e.data.error.code}]` : `HTTP ${res.status}`;
      throw new VercelError(res.status, `${method} ${url.pathname}: ${message}${suffix}`, e.success ? e.data.error.code : "", e.success ? (e.data.error.missing ?? []) : []);
    }
    return json;
  }

  async project(): Promise<z.infer<typeof project>> {
    return project.parse(await this.call("GET", `/v9/projects/${encodeURIComponent(this.s.projectId ?? this.s.projectName ?? "")}`));
  }

  async upload(f: ArtifactFile): Promise<void> {
    await this.call("POST", "/v2/files", {
      body: f.data,
      headers: { "content-type": "application/octet-stream", "x-vercel-digest": f.sha, "content-length": String(f.size) },
    });
  }

  async deployment(id: string): Promise<z.infer<typeof deployment>> {
    return deployment.parse(await this.call("GET", `/v13/deployments/${encodeURIComponent(id)}`));
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

/** Reads the files of a .tar.gz body as it streams in (tar detects gzip itself). */
export async function readTarball(body: ReadableStream<Uint8Array>): Promise<ArtifactFile[]> {
  const files: ArtifactFile[] = [];
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const path = entry.type === "File" ? cleanPath(entry.path) : null;
      if (path === null) {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on("data", (c: Buffer) => chunks.push(c));
      entry.on("end", () => files.push(toFile(path, Buffer.concat(chunks))));
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    parser.on("end", () => resolve());
    parser.on("error", reject);
  });
  const reader = body.getReader();
  for (;;) {
    const { done: finished, value } = await reader.read();
    if (finished) break;
    parser.write(Buffer.from(value));
  }
  parser.end();
  await done;
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
      if (!(err instanceof PlatformError)) throw err;
      const which = s.projectId ?? s.projectName;
      problems.push(err.status === 404 ? `vercel project ${which} not found (${err.message})` : err.message);
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
      return toPlatform(deployment.parse(await api.call("POST", "/v13/deployments", { json: body })));
    } catch (err) {
      // Vercel may have dropped an upload (they expire); it names them, so send those and try once more.
      if (!(err instanceof VercelError) || err.code !== "missing_files" || err.missing.length === 0) throw err;
      for (const sha of err.missing) {
        const f = bySha.get(sha);
        if (f) await api.upload(f);
      }
      return toPlatform(deployment.parse(await api.call("POST", "/v13/deployments", { json: body })));
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
    if (target.readyState !== "READY") throw new PlatformError("vercel", 409, `cannot roll back to ${to.id}: it is ${target.readyState}`, false);
    const projectId = target.projectId ?? (await api.project()).id;
    const q = new URLSearchParams({ description: `sparki rollback of ${ctx.stage} (${ctx.deploymentId})` });
    await api.call("POST", `/v1/projects/${encodeURIComponent(projectId)}/rollback/${encodeURIComponent(to.id)}?${q}`);
    return toPlatform(target);
  },
};
