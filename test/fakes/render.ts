/**
 * A local fake of Render's public REST API (base /v1), implementing only the endpoints
 * server/deploy/adapters/render.ts uses, as Render's API reference documents them:
 * `GET /services/{serviceId}`, `POST /services/{serviceId}/deploys`,
 * `GET /services/{serviceId}/deploys/{deployId}` and `POST /services/{serviceId}/rollback`.
 *
 * Requests need `Authorization: Bearer <api key>`; bodies are validated with zod (strict, as the
 * documented fields); errors are `{ id, message }` with the HTTP status; every answer carries the
 * documented Ratelimit-* headers. Deploys advance one documented status per read so tests see
 * pending before ready without sleeping: created → build_in_progress → update_in_progress → live
 * (or → build_failed when told to fail); the live deploy it replaces becomes deactivated.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { z } from "zod";

export type RenderDeployStatus = "created" | "build_in_progress" | "update_in_progress" | "live" | "deactivated" | "build_failed";

/** One deploy as the fake holds it; tests read these directly. */
export interface FakeRenderDeploy {
  id: string;
  serviceId: string;
  commitId: string | null;
  status: RenderDeployStatus;
  /** The statuses still ahead of it, consumed one per read. */
  ahead: RenderDeployStatus[];
  trigger: "api" | "rollback";
  /** The deploy whose artifact a rollback reuses. */
  rollbackOf: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** A service the fake knows; `image` marks an image-backed service (no commitId allowed). */
export interface FakeRenderService {
  id: string;
  name: string;
  image: boolean;
  suspended: boolean;
}

/** A request as received, for asserting headers and bodies. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

const triggerBody = z.strictObject({
  clearCache: z.enum(["clear", "do_not_clear"]).optional(),
  commitId: z
    .string()
    .regex(/^[0-9a-f]{7,40}$/)
    .optional(),
  imageUrl: z.string().min(1).optional(),
  deployMode: z.enum(["deploy_only", "build_and_deploy"]).optional(),
});
const rollbackBody = z.strictObject({ deployId: z.string().min(1) });

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

/** The fake Render API. */
export class FakeRender {
  /** API keys it accepts as `Authorization: Bearer <key>`. */
  readonly apiKeys = new Set<string>(["rnd_test_key"]);
  readonly services = new Map<string, FakeRenderService>([["srv-test", { id: "srv-test", name: "web", image: false, suspended: false }]]);
  readonly deploys = new Map<string, FakeRenderDeploy>();
  readonly requests: RecordedRequest[] = [];
  private failures: { status: number; remaining: number; resetIn: number } | null = null;
  private failDeploys = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Starts on a free local port; `url` is the base to give the adapter as apiUrl (ends in /v1). */
  static async start(): Promise<FakeRender> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeRender(server, `http://127.0.0.1:${port}/v1`);
    server.on("connection", (s) => {
      fake.sockets.add(s);
      s.once("close", () => fake.sockets.delete(s));
    });
    server.on("request", (req, res) => void fake.handle(req, res));
    return fake;
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * The next `times` requests (1 by default) answer with this HTTP status in Render's error shape,
   * before anything is done (429 rate limited, 5xx an outage, another 4xx a bad request). A 429's Ratelimit-Reset names the window's end `resetIn` seconds on
   * (60 by default, Render's one-minute windows).
   */
  failNext(status: number, options: { times?: number; resetIn?: number } = {}): void {
    this.failures = { status, remaining: options.times ?? 1, resetIn: options.resetIn ?? 60 };
  }

  /** Answers normally again, whatever failures were still due (tests share one fake). */
  stopFailing(): void {
    this.failures = null;
  }

  /** The next deploy created fails its build. */
  failNextDeploy(): void {
    this.failDeploys += 1;
  }

  /** The deploy currently live for a service, if any. */
  live(serviceId: string): FakeRenderDeploy | null {
    return [...this.deploys.values()].find((d) => d.serviceId === serviceId && d.status === "live") ?? null;
  }

  /** Requests with this method whose path matches. */
  calls(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown = raw === "" ? undefined : raw;
    let badJson = false;
    try {
      if (raw !== "") body = JSON.parse(raw);
    } catch {
      badJson = true;
    }
    const method = req.method ?? "";
    const path = (req.url ?? "").split("?")[0] ?? "";
    this.requests.push({ method, path, headers: req.headers, body });
    try {
      if (this.failures && this.failures.remaining > 0) {
        const { status, resetIn } = this.failures;
        if (--this.failures.remaining === 0) this.failures = null;
        const [id, message] =
          status === 429
            ? ["rate_limited", "Rate limit has been surpassed."]
            : status < 500
              ? ["bad_request", "The request could not be understood by the server."]
              : ["internal_error", "An unexpected server error has occurred."];
        return send(res, status, { id, message }, resetIn);
      }
      const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!key || !this.apiKeys.has(key)) throw new HttpError(401, "unauthorized", "Authorization information is missing or invalid.");
      if (badJson || (body !== undefined && !/^application\/json\b/i.test(req.headers["content-type"] ?? "")))
        throw new HttpError(400, "bad_request", "The request could not be understood by the server.");
      const [status, out] = this.route(method, path, body);
      return send(res, status, out);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return send(res, err.status, { id: err.id, message: err.message });
    }
  }

  private route(method: string, path: string, body: unknown): [number, unknown] {
    const m = /^\/v1\/services\/([^/]+)(?:\/(deploys|rollback)(?:\/([^/]+))?)?$/.exec(path);
    const svc = m ? this.services.get(decodeURIComponent(m[1] ?? "")) : undefined;
    if (!m) throw new HttpError(404, "not_found", "Unable to find the requested resource.");
    if (!svc) throw new HttpError(404, "not_found", "Service not found");
    const [, , sub, deployId] = m;
    if (method === "GET" && !sub) return [200, this.serviceJson(svc)];
    if (method === "POST" && sub === "deploys" && !deployId) return [201, this.json(this.trigger(svc, body))];
    if (method === "GET" && sub === "deploys" && deployId) {
      const d = this.deploys.get(decodeURIComponent(deployId));
      if (!d || d.serviceId !== svc.id) throw new HttpError(404, "not_found", "Deploy not found");
      this.advance(d);
      return [200, this.json(d)];
    }
    if (method === "POST" && sub === "rollback" && !deployId) return [201, this.json(this.rollback(svc, body))];
    throw new HttpError(404, "not_found", "Unable to find the requested resource.");
  }

  private trigger(svc: FakeRenderService, body: unknown): FakeRenderDeploy {
    const parsed = triggerBody.safeParse(body ?? {});
    if (!parsed.success) throw new HttpError(400, "bad_request", `invalid body: ${z.prettifyError(parsed.error)}`);
    const { deployMode, commitId, imageUrl, clearCache } = parsed.data;
    if (deployMode && (commitId || imageUrl || clearCache))
      throw new HttpError(400, "bad_request", "deployMode cannot be combined with commitId, imageUrl or clearCache");
    if (svc.image && commitId) throw new HttpError(400, "bad_request", "commitId is not supported for image-backed services");
    if (!svc.image && imageUrl) throw new HttpError(400, "bad_request", "imageUrl is only supported for image-backed services");
    const failing = this.failDeploys > 0;
    if (failing) this.failDeploys -= 1;
    return this.create(
      svc.id,
      commitId ?? null,
      failing ? ["build_in_progress", "build_failed"] : ["build_in_progress", "update_in_progress", "live"],
      "api",
      null,
    );
  }

  private rollback(svc: FakeRenderService, body: unknown): FakeRenderDeploy {
    const parsed = rollbackBody.safeParse(body ?? {});
    if (!parsed.success) throw new HttpError(400, "bad_request", `invalid body: ${z.prettifyError(parsed.error)}`);
    const target = this.deploys.get(parsed.data.deployId);
    if (!target || target.serviceId !== svc.id) throw new HttpError(404, "not_found", "Deploy not found");
    // Only a deploy that once went live left a build artifact to roll back to.
    if (target.status !== "live" && target.status !== "deactivated")
      throw new HttpError(400, "bad_request", `deploy ${target.id} is not eligible for rollback`);
    // The target's artifact is reused, so there is no build step.
    return this.create(svc.id, target.commitId, ["update_in_progress", "live"], "rollback", target.id);
  }

  private create(
    serviceId: string,
    commitId: string | null,
    ahead: RenderDeployStatus[],
    trigger: "api" | "rollback",
    rollbackOf: string | null,
  ): FakeRenderDeploy {
    const now = new Date().toISOString();
    const d: FakeRenderDeploy = {
      id: `dep-${randomBytes(10).toString("hex")}`,
      serviceId,
      commitId,
      status: "created",
      ahead,
      trigger,
      rollbackOf,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    this.deploys.set(d.id, d);
    return d;
  }

  private advance(d: FakeRenderDeploy): void {
    const next = d.ahead.shift();
    if (!next) return;
    const now = new Date().toISOString();
    if (next === "live") {
      // One deploy serves a service: the one it replaces is deactivated.
      const previous = this.live(d.serviceId);
      if (previous) Object.assign(previous, { status: "deactivated", updatedAt: now });
    }
    d.status = next;
    d.updatedAt = now;
    if (next === "live" || next === "build_failed") d.finishedAt = now;
  }

  private json(d: FakeRenderDeploy): Record<string, unknown> {
    return {
      id: d.id,
      commit: d.commitId ? { id: d.commitId, message: "commit message", createdAt: d.createdAt } : null,
      status: d.status,
      trigger: d.trigger,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      finishedAt: d.finishedAt,
    };
  }

  private serviceJson(svc: FakeRenderService): Record<string, unknown> {
    return {
      id: svc.id,
      name: svc.name,
      type: "web_service",
      suspended: svc.suspended ? "suspended" : "not_suspended",
      autoDeploy: "yes",
      serviceDetails: { url: `https://${svc.name}.onrender.com` },
    };
  }
}

function send(res: ServerResponse, status: number, body: unknown, resetIn = 60): void {
  // Render documents these on every answer; reset is in UTC epoch seconds.
  const reset = String(Math.floor(Date.now() / 1000) + resetIn);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "ratelimit-limit": "30",
    "ratelimit-remaining": status === 429 ? "0" : "29",
    "ratelimit-reset": reset,
  });
  res.end(JSON.stringify(body));
}
