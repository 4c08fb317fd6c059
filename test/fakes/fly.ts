/**
 * A local fake of the Fly.io Machines API (https://fly.io/docs/machines/api/machines-resource/):
 * only the endpoints the Fly adapter uses, with Bearer auth, the `{error}` shape, Machines that go
 * replacing → starting → started with health checks critical → passing, and switches to fail.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A Machine as the fake keeps it. */
export interface FakeMachine {
  id: string;
  name: string;
  region: string;
  instance_id: string;
  config: { image: string; env: Record<string, string>; [key: string]: unknown };
  /** 0 replacing, 1 starting, 2 started (checks critical), 3 started (checks passing). */
  phase: number;
  failing: boolean;
}

/** A request as the fake received it, for tests to assert on. */
export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

/** The fake's in-memory state and controls. */
export class FakeFly {
  readonly requests: RecordedRequest[] = [];
  readonly apps = new Map<string, FakeMachine[]>();
  /** Images whose Machines fail to start (a broken release). */
  readonly failingImages = new Set<string>();
  private server: Server | null = null;
  private failures: { status: number; retryAfter?: number; remaining: number; on?: string } | null = null;
  private seq = 0;

  constructor(readonly token: string) {}

  /** Base URL to hand the adapter as `apiUrl` (…/v1 like the real API). */
  url = "";

  /** Adds an app with `count` Machines already running `image`. */
  addApp(app: string, image: string, count = 2): FakeMachine[] {
    const machines = Array.from({ length: count }, (_, i) => ({
      id: `${(0x148e0000 + i).toString(16)}${app.length}`,
      name: `${app}-${i}`,
      region: "iad",
      instance_id: this.instanceId(),
      config: { image, env: { PRESET: "1" }, guest: { cpus: 1, memory_mb: 256 }, services: [{ internal_port: 8080 }] },
      phase: 3,
      failing: false,
    }));
    this.apps.set(app, machines);
    return machines;
  }

  /**
   * The next `times` requests (1 by default) are answered with this status before anything is
   * done: a 429 (with Retry-After when given) as Fly's rate limiter answers, 5xx as an outage,
   * another 4xx as a bad request. `on` ("POST", "GET /v1/apps/shop") limits it to requests whose
   * method and path start so.
   */
  failNext(status: number, options: { times?: number; retryAfter?: number; on?: string } = {}): void {
    this.failures = {
      status,
      remaining: options.times ?? 1,
      ...(options.retryAfter === undefined ? {} : { retryAfter: options.retryAfter }),
      ...(options.on ? { on: options.on } : {}),
    };
  }

  /** Images the app's Machines currently run. */
  images(app: string): string[] {
    return (this.apps.get(app) ?? []).map((m) => m.config.image);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  }

  private instanceId(): string {
    this.seq += 1;
    return `01J${String(this.seq).padStart(10, "0")}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown = null;
    const url = new URL(req.url ?? "/", "http://fake");
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(payload));
    };
    if (raw) {
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        return send(400, { error: "invalid JSON body" });
      }
    }
    this.requests.push({ method: req.method ?? "", path: url.pathname + url.search, authorization: req.headers.authorization, body });

    if (req.headers.authorization !== `Bearer ${this.token}`) return send(401, { error: "You must be authenticated to view this." });
    const f = this.failures;
    if (f && (f.on === undefined || `${req.method} ${url.pathname}`.startsWith(f.on))) {
      if (--f.remaining <= 0) this.failures = null;
      if (f.status === 429) return send(429, { error: "rate limit exceeded" }, f.retryAfter === undefined ? {} : { "retry-after": String(f.retryAfter) });
      return send(f.status, { error: f.status < 500 ? "bad request" : "internal server error" });
    }

    const m = /^\/v1\/apps\/([^/]+)\/machines(?:\/([^/]+)(\/wait)?)?$/.exec(url.pathname);
    if (!m) return send(404, { error: "not found" });
    const machines = this.apps.get(decodeURIComponent(m[1]!));
    if (!machines) return send(404, { error: "app not found" });
    if (!m[2]) {
      if (req.method !== "GET") return send(405, { error: "method not allowed" });
      return send(
        200,
        machines.map((x) => this.view(x)),
      );
    }
    const target = machines.find((x) => x.id === m[2]);
    if (!target) return send(404, { error: "machine not found" });

    if (m[3]) {
      if (req.method !== "GET") return send(405, { error: "method not allowed" });
      const state = url.searchParams.get("state") ?? "started";
      if (state !== "started") return send(400, { error: `fake only waits for started, not ${state}` });
      const instance = url.searchParams.get("instance_id");
      if (instance && instance !== target.instance_id) return send(400, { error: "instance_id does not match the machine's current version" });
      // Waiting lets a healthy Machine finish booting; a failing one never reaches started: the documented 408.
      if (target.failing) {
        target.phase = Math.max(target.phase, 2);
        return send(408, { error: "deadline_exceeded: machine did not reach started" });
      }
      target.phase = Math.max(target.phase, 2);
      return send(200, { ok: true });
    }

    if (req.method === "GET") {
      const view = this.view(target);
      // Each look moves the Machine one step on, standing in for time passing.
      target.phase = Math.min(target.phase + 1, 3);
      return send(200, view);
    }
    if (req.method === "POST") {
      const config = (body as { config?: { image?: unknown; env?: unknown } } | null)?.config;
      if (!config || typeof config.image !== "string" || config.image === "") return send(400, { error: "config.image is required" });
      if (config.env !== undefined && (typeof config.env !== "object" || config.env === null)) return send(400, { error: "config.env must be an object" });
      target.config = config as FakeMachine["config"];
      target.instance_id = this.instanceId();
      target.phase = 0;
      target.failing = this.failingImages.has(config.image);
      return send(200, this.view(target));
    }
    return send(405, { error: "method not allowed" });
  }

  private view(x: FakeMachine): Record<string, unknown> {
    const started = x.phase >= 2 && !x.failing;
    const state = x.failing && x.phase >= 2 ? "failed" : (["replacing", "starting", "started", "started"][x.phase] ?? "started");
    return {
      id: x.id,
      name: x.name,
      state,
      region: x.region,
      instance_id: x.instance_id,
      private_ip: "fdaa:0:1:a7b:1::2",
      config: x.config,
      image_ref: { registry: "registry.fly.io", repository: x.config.image.split(":")[0], tag: x.config.image.split(":")[1] ?? "latest" },
      checks: started ? [{ name: "servicecheck-00-http-8080", status: x.phase >= 3 ? "passing" : "critical", output: "" }] : [],
      created_at: "2026-01-01T00:00:00Z",
      updated_at: new Date().toISOString(),
    };
  }
}
