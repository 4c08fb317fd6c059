/**
 * A local fake of the Vercel REST API (https://vercel.com/docs/rest-api): only the endpoints the
 * Vercel adapter uses, with Bearer auth, optional teamId, the `{error: {code, message}}` shape,
 * SHA-1 checked uploads, the `missing_files` answer, QUEUED → BUILDING → READY progression, and
 * Instant Rollback of a project's production deployment.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A project as the fake keeps it. */
export interface FakeProject {
  id: string;
  name: string;
  teamId: string | null;
  /** The deployment production domains point to. */
  liveDeploymentId: string | null;
}

/** A deployment as the fake keeps it. */
export interface FakeDeployment {
  id: string;
  projectId: string;
  url: string;
  target: string | null;
  readyState: "QUEUED" | "BUILDING" | "READY" | "ERROR" | "CANCELED";
  files: { file: string; sha: string; size: number }[];
  willFail: boolean;
}

/** A request as received, for tests to assert on. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  digest: string | undefined;
  body: unknown;
  bytes: number;
}

type Send = (status: number, payload: unknown, headers?: Record<string, string>) => void;
const err = (code: string, message: string, extra: Record<string, unknown> = {}): unknown => ({ error: { code, message, ...extra } });

/** The fake's state and controls. */
export class FakeVercel {
  readonly requests: RecordedRequest[] = [];
  readonly projects = new Map<string, FakeProject>();
  readonly deployments = new Map<string, FakeDeployment>();
  /** Uploaded file contents by SHA-1. */
  readonly blobs = new Map<string, Buffer>();
  url = "";
  private server: Server | null = null;
  private failures: { status: number; retryAfter?: number; remaining: number; on?: string } | null = null;
  private failDeployments = 0;
  private lostUploads = 0;
  private seq = 0;

  constructor(readonly token: string) {}

  /** Adds a project (owned by a team when teamId is given). */
  addProject(name: string, teamId: string | null = null): FakeProject {
    const p = { id: `prj_${name.replace(/\W/g, "")}${this.projects.size}`, name, teamId, liveDeploymentId: null };
    this.projects.set(p.id, p);
    return p;
  }

  /**
   * The next `times` requests (1 by default) are answered with this status before anything is
   * done: a 429 `rate_limited` (with Retry-After when given), 5xx as an outage, another 4xx as a
   * bad request. `on` ("POST /v13/deployments") limits it to requests whose method and path start so.
   */
  failNext(status: number, options: { times?: number; retryAfter?: number; on?: string } = {}): void {
    this.failures = {
      status,
      remaining: options.times ?? 1,
      ...(options.retryAfter === undefined ? {} : { retryAfter: options.retryAfter }),
      ...(options.on ? { on: options.on } : {}),
    };
  }

  /** The next `n` uploads are accepted but not kept, as when Vercel lets an upload expire. */
  loseUploads(n: number): void {
    this.lostUploads = n;
  }

  /** The next deployment created will end in ERROR (a failing build). */
  failNextDeployment(): void {
    this.failDeployments += 1;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  }

  private findProject(idOrName: string, teamId: string | null): FakeProject | undefined {
    return [...this.projects.values()].find((p) => (p.id === idOrName || p.name === idOrName) && p.teamId === teamId);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://fake");
    const send: Send = (status, payload, headers = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(payload));
    };
    const isJson = (req.headers["content-type"] ?? "").startsWith("application/json");
    let body: unknown = null;
    if (isJson && raw.length > 0) {
      try {
        body = JSON.parse(raw.toString("utf8")) as unknown;
      } catch {
        return send(400, err("bad_request", "Invalid JSON body"));
      }
    }
    const digest = req.headers["x-vercel-digest"];
    this.requests.push({
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      digest: typeof digest === "string" ? digest : undefined,
      body,
      bytes: raw.length,
    });

    // Vercel answers a missing or bad token with 403 forbidden, per its errors page.
    if (req.headers.authorization !== `Bearer ${this.token}`) return send(403, err("forbidden", "Not authorized", { invalidToken: true }));
    const f = this.failures;
    if (f && (f.on === undefined || `${req.method} ${url.pathname}`.startsWith(f.on))) {
      if (--f.remaining <= 0) this.failures = null;
      if (f.status === 429) {
        return send(
          429,
          err("rate_limited", "Rate limit exceeded", { limit: { remaining: 0, total: 100 } }),
          f.retryAfter === undefined ? {} : { "retry-after": String(f.retryAfter) },
        );
      }
      if (f.status < 500) return send(f.status, err("bad_request", "Invalid request"));
      return send(f.status, err("internal_server_error", "An unexpected internal error occurred"));
    }
    const teamId = url.searchParams.get("teamId");
    const p = url.pathname;
    let m: RegExpExecArray | null;
    if (req.method === "GET" && (m = /^\/v9\/projects\/([^/]+)$/.exec(p))) {
      const proj = this.findProject(decodeURIComponent(m[1]!), teamId);
      return proj ? send(200, { id: proj.id, name: proj.name, accountId: proj.teamId ?? "user_1" }) : send(404, err("not_found", "Project not found"));
    }
    if (req.method === "POST" && p === "/v2/files") return this.upload(req, raw, send);
    if (req.method === "POST" && p === "/v13/deployments") return this.create(body, teamId, send);
    if (req.method === "GET" && (m = /^\/v13\/deployments\/([^/]+)$/.exec(p))) {
      const d = this.deployments.get(decodeURIComponent(m[1]!));
      if (!d || this.projects.get(d.projectId)?.teamId !== teamId) return send(404, err("not_found", "Deployment not found"));
      const view = this.view(d);
      this.advance(d);
      return send(200, view);
    }
    if (req.method === "POST" && (m = /^\/v1\/projects\/([^/]+)\/rollback\/([^/]+)$/.exec(p))) {
      const proj = this.findProject(decodeURIComponent(m[1]!), teamId);
      if (!proj) return send(404, err("not_found", "Project not found"));
      const d = this.deployments.get(decodeURIComponent(m[2]!));
      if (!d || d.projectId !== proj.id) return send(404, err("not_found", "Deployment not found"));
      if (d.readyState !== "READY" || d.target !== "production")
        return send(422, err("invalid_deployment", "Only ready production deployments can be rolled back to"));
      proj.liveDeploymentId = d.id;
      res.writeHead(201);
      return void res.end();
    }
    return send(404, err("not_found", "The requested endpoint was not found"));
  }

  private upload(req: IncomingMessage, raw: Buffer, send: Send): void {
    const digest = req.headers["x-vercel-digest"];
    if (typeof digest !== "string" || !/^[0-9a-f]{40}$/.test(digest)) return send(400, err("bad_request", "Missing or invalid x-vercel-digest header"));
    const actual = createHash("sha1").update(raw).digest("hex");
    if (actual !== digest) return send(400, err("bad_request", `The file's SHA1 ${actual} does not match x-vercel-digest ${digest}`));
    const length = Number(req.headers["content-length"]);
    if (!Number.isFinite(length) || length !== raw.length) return send(400, err("bad_request", "Content-Length does not match the body"));
    if (this.lostUploads > 0) this.lostUploads -= 1;
    else this.blobs.set(digest, raw);
    send(200, {});
  }

  private create(body: unknown, teamId: string | null, send: Send): void {
    const b = body as { name?: unknown; project?: unknown; target?: unknown; files?: unknown } | null;
    if (!b || typeof b.name !== "string" || b.name === "") return send(400, err("bad_request", "Invalid request: missing required property `name`"));
    const files = Array.isArray(b.files) ? (b.files as { file?: unknown; sha?: unknown; size?: unknown }[]) : null;
    if (!files || files.some((f) => typeof f.file !== "string" || typeof f.sha !== "string" || typeof f.size !== "number")) {
      return send(400, err("bad_request", "Invalid request: `files` must be a list of {file, sha, size}"));
    }
    const proj = this.findProject(typeof b.project === "string" ? b.project : b.name, teamId);
    if (!proj) return send(404, err("not_found", "Project not found"));
    const missing = [...new Set(files.filter((f) => !this.blobs.has(f.sha as string)).map((f) => f.sha as string))];
    if (missing.length > 0) return send(400, err("missing_files", "Missing files", { missing }));
    const wrongSize = files.find((f) => this.blobs.get(f.sha as string)!.length !== f.size);
    if (wrongSize) return send(400, err("bad_request", `Size of ${String(wrongSize.file)} does not match its upload`));
    this.seq += 1;
    const id = `dpl_${String(this.seq).padStart(6, "0")}`;
    const d: FakeDeployment = {
      id,
      projectId: proj.id,
      url: `${proj.name}-${id.slice(4)}.vercel.app`,
      target: typeof b.target === "string" ? b.target : null,
      readyState: "QUEUED",
      files: files as FakeDeployment["files"],
      willFail: this.failDeployments > 0,
    };
    if (this.failDeployments > 0) this.failDeployments -= 1;
    this.deployments.set(id, d);
    send(200, this.view(d));
  }

  /** Each read stands in for time passing: QUEUED → BUILDING → READY (or ERROR). */
  private advance(d: FakeDeployment): void {
    if (d.readyState === "QUEUED") d.readyState = "BUILDING";
    else if (d.readyState === "BUILDING") {
      d.readyState = d.willFail ? "ERROR" : "READY";
      // Production deployments are assigned the production domains when they become ready.
      if (d.readyState === "READY" && d.target === "production") this.projects.get(d.projectId)!.liveDeploymentId = d.id;
    }
  }

  /** The file served at `path` by the project's production domain, as a test's view of "live". */
  serve(projectId: string, path: string): Buffer | null {
    const live = this.deployments.get(this.projects.get(projectId)?.liveDeploymentId ?? "");
    const f = live?.files.find((x) => x.file === path);
    return f ? (this.blobs.get(f.sha) ?? null) : null;
  }

  private view(d: FakeDeployment): Record<string, unknown> {
    const proj = this.projects.get(d.projectId)!;
    return { id: d.id, url: d.url, name: proj.name, projectId: d.projectId, readyState: d.readyState, target: d.target, createdAt: Date.now() };
  }
}
