/**
 * A real HTTP + WebSocket control plane for the runner's tests (node:http + ws), speaking
 * the protocol of core/contracts/runner.ts faithfully: zod-validated bodies, runner tokens that
 * only claim, a job token per claim that only acts on its own job, claims matched on the labels a
 * runner registered with, long-poll claims, leases driven by the same job machine the dispatcher will use
 * (fencing tokens, expiry and requeue), acked/resumed log sockets, artifact uploads (through the
 * API: it hands out no presigned URLs) and the artifacts of needed jobs. Faults
 * are injected through its methods: cut a log socket, expire a lease, cancel, fail claims.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { transitionJob, initialJob, type JobEvent, type JobState } from "../../core/build/job.ts";
import * as P from "../../core/contracts/runner.ts";
import { joinLines } from "../../core/log/lines.ts";
import { acceptFrame } from "../../core/log/sequence.ts";
import { until } from "../../test/until.ts";

/** A job as the test enqueues it: the claim response minus the lease. */
export type FakeJobSpec = Omit<P.JobInput, "jobId" | "jobToken" | "leaseId" | "fencingToken" | "leaseExpiresAt" | "buildId"> & {
  buildId?: string;
  runsOn?: string[];
  /** Artifacts of the jobs this one needs, as the server would list and serve them (the listed SHA-256 defaults to the bytes'). */
  needed?: { name: string; jobId: string; kind: "file" | "directory"; bytes: Buffer; sha256?: string }[];
};

/** Everything the fake knows about one job; tests read it directly. */
export interface FakeJob {
  id: string;
  spec: FakeJobSpec;
  state: JobState;
  log: P.LogLine[];
  held: number;
  logConnections: number;
  stepUpdates: (P.StepUpdateRequest & { stepId: string })[];
  result: P.CompleteRequest | null;
  pipeline: P.PipelineUploadRequest["pipeline"] | null;
  artifacts: Map<string, { kind: string; bytes: Buffer }>;
  /** Calls refused for a stale lease, in order: what the fencing protects against. */
  refusals: { route: string; status: number; detail: string }[];
  cut: { afterLines: number; remaining: number } | null;
  sockets: Set<WebSocket>;
}

interface Runner {
  id: string;
  token: string;
  name: string;
  labels: string[];
}
interface Waiter {
  runner: Runner;
  resolve: (job: FakeJob | null) => void;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(detail);
  }
}

export class FakeControlPlane {
  readonly registrationToken = "sparki-reg-test";
  readonly jobs = new Map<string, FakeJob>();
  readonly runners = new Map<string, Runner>();
  /** Job tokens handed out, each naming the job, lease and runner it was issued for. */
  readonly jobTokens = new Map<string, { jobId: string; runnerId: string; leaseId: string; fencingToken: number }>();
  private waiters: Waiter[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private sweep: NodeJS.Timeout;
  /** The next n claims answer with this status (429/503 to test backoff). */
  failClaims: { status: number; remaining: number } | null = null;
  /** The next registrations answered with this status, as a restarting control plane would. */
  failRegistrations: { status: number; remaining: number } | null = null;
  claimCount = 0;
  /** Runners that said they stopped claiming (POST /v1/runner/disconnect), in order. */
  readonly disconnects: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: { leaseMs: number; claimWaitMs: number },
  ) {
    this.sweep = setInterval(() => this.expireLeases(), 50);
  }

  /** Starts on a free local port. Short lease and claim times keep tests fast. */
  static async start(options: { leaseMs?: number; claimWaitMs?: number } = {}): Promise<FakeControlPlane> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeControlPlane(server, `http://127.0.0.1:${port}`, { leaseMs: options.leaseMs ?? 3000, claimWaitMs: options.claimWaitMs ?? 500 });
    server.on("connection", (s) => {
      fake.sockets.add(s);
      s.once("close", () => fake.sockets.delete(s));
    });
    server.on("request", (req, res) => void fake.handle(req, res));
    server.on("upgrade", (req, socket, head) => fake.upgrade(req, socket as Socket, head));
    return fake;
  }

  /** Queues a job; returns its id. */
  enqueue(spec: FakeJobSpec): string {
    const id = `job-${randomUUID().slice(0, 8)}`;
    this.jobs.set(id, {
      id,
      spec,
      state: initialJob(),
      log: [],
      held: 0,
      logConnections: 0,
      stepUpdates: [],
      result: null,
      pipeline: null,
      artifacts: new Map(),
      refusals: [],
      cut: null,
      sockets: new Set(),
    });
    this.dispatch();
    return id;
  }

  job(id: string): FakeJob {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`no job ${id}`);
    return job;
  }

  /** The job's log bytes as the archive would hold them, optionally only some steps. */
  logText(id: string, steps?: readonly string[]): string {
    return joinLines(this.job(id).log.filter((l) => !steps || steps.includes(l.step)));
  }

  /** Drops the job's log socket (no ack for the frame that crossed the line) `times` times. */
  cutLogSocket(id: string, afterLines: number, times: number): void {
    this.job(id).cut = { afterLines, remaining: times };
  }

  /** Cancels the job: flagged for the next heartbeat, and pushed on its open log sockets. */
  cancel(id: string, options: { push?: boolean } = {}): void {
    const job = this.job(id);
    this.apply(job, { type: "cancel", at: Date.now() });
    if (options.push === false) return;
    for (const ws of job.sockets) ws.send(JSON.stringify({ type: "cancel" } satisfies P.ServerLogFrame));
  }

  /** Ends the current lease now, as if the runner had stopped heartbeating. */
  expireLease(id: string): void {
    const job = this.job(id);
    this.apply(job, { type: "lease_expired", at: Math.max(Date.now(), job.state.leaseExpiresAt ?? 0), maxAttempts: 5 });
  }

  /** Revokes a runner: its runner token and every job token it holds stop at once (401). */
  revokeRunner(runnerId: string): void {
    this.runners.delete(runnerId);
  }

  /** Polls until `check` holds for the job (or throws after `timeoutMs`). */
  async waitFor(id: string, check: (job: FakeJob) => boolean, timeoutMs = 20_000): Promise<FakeJob> {
    return until(`job ${id} to reach the awaited state`, () => check(this.job(id)) && this.job(id), timeoutMs, {
      intervalMs: 20,
      diagnostics: () => `job ${id}: ${JSON.stringify(this.job(id).state)}`,
    });
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    for (const client of this.wss.clients) client.terminate();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Every state change goes through the job machine: a refused event is a 409. */
  private apply(job: FakeJob, event: JobEvent): void {
    const next = transitionJob(job.state, event);
    if (!next.ok) throw new Refusal(409, `${event.type}: ${next.error.code}`);
    job.state = next.state;
    if (job.state.status === "queued") this.dispatch();
  }

  private expireLeases(): void {
    const now = Date.now();
    for (const job of this.jobs.values()) {
      if ((job.state.status === "claimed" || job.state.status === "running") && (job.state.leaseExpiresAt ?? Infinity) <= now) this.expireLease(job.id);
    }
  }

  /** Hands queued jobs to waiting claims whose labels cover the job's `runsOn`. */
  private dispatch(): void {
    for (const job of this.jobs.values()) {
      if (job.state.status !== "queued") continue;
      const at = this.waiters.findIndex((w) => (job.spec.runsOn ?? []).every((l) => w.runner.labels.includes(l)));
      if (at === -1) continue;
      const [waiter] = this.waiters.splice(at, 1);
      if (!waiter) continue;
      this.apply(job, { type: "claim", at: Date.now(), runnerId: waiter.runner.id, leaseId: randomUUID(), leaseMs: this.options.leaseMs });
      waiter.resolve(job);
    }
  }

  private claimResponse(job: FakeJob): P.JobInput {
    const { runsOn: _runsOn, buildId, ...spec } = job.spec;
    const jobToken = `job_${randomUUID()}`;
    this.jobTokens.set(jobToken, { jobId: job.id, runnerId: job.state.runnerId ?? "", leaseId: job.state.leaseId ?? "", fencingToken: job.state.fencingToken });
    return {
      ...spec,
      jobId: job.id,
      jobToken,
      buildId: buildId ?? "build-1",
      leaseId: job.state.leaseId ?? "",
      fencingToken: job.state.fencingToken,
      leaseExpiresAt: new Date(job.state.leaseExpiresAt ?? 0).toISOString(),
    };
  }

  private bearer(req: IncomingMessage): string | undefined {
    return /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  }

  /** The runner behind a runner token: the only credential that claims. */
  private runnerOf(req: IncomingMessage): Runner {
    const token = this.bearer(req);
    const runner = [...this.runners.values()].find((r) => r.token === token);
    if (!runner) throw new Refusal(401, "unknown runner token");
    return runner;
  }

  /** The runner behind a job token, which must be this job's: a runner token is refused here. */
  private jobHolder(req: IncomingMessage, job: FakeJob): Runner {
    const claims = this.jobTokens.get(this.bearer(req) ?? "");
    if (!claims || claims.jobId !== job.id) throw new Refusal(401, "not this job's token");
    const runner = this.runners.get(claims.runnerId);
    if (!runner) throw new Refusal(401, "the runner was revoked");
    return runner;
  }

  /** The job if `runner` holds it under `lease` with the current fencing token; else 409. */
  private held(job: FakeJob, runner: Runner, lease: P.Lease, route: string): void {
    const s = job.state;
    const problem =
      s.status !== "claimed" && s.status !== "running"
        ? `job is ${s.status}`
        : s.runnerId !== runner.id || s.leaseId !== lease.leaseId
          ? "lease not held"
          : s.fencingToken !== lease.fencingToken
            ? `stale fencing token ${lease.fencingToken}`
            : null;
    if (problem) {
      job.refusals.push({ route, status: 409, detail: problem });
      throw new Refusal(409, problem);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { "content-type": status >= 400 ? "application/problem+json" : "application/json" });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    try {
      const path = new URL(req.url ?? "/", this.url).pathname;
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks);
      const body = <T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: Error } }): T => {
        let json: unknown;
        try {
          json = JSON.parse(raw.toString("utf8"));
        } catch {
          throw new Refusal(400, "body is not JSON");
        }
        const parsed = schema.safeParse(json);
        if (!parsed.success) throw new Refusal(400, parsed.error.message);
        return parsed.data;
      };
      if (req.method === "POST" && path === "/v1/runner/register") {
        const r = body(P.RegisterRequest);
        if (this.failRegistrations && this.failRegistrations.remaining-- > 0) throw new Refusal(this.failRegistrations.status, "injected failure");
        if (r.token !== this.registrationToken) throw new Refusal(401, "registration token not valid");
        const runner = { id: `runner-${randomUUID().slice(0, 8)}`, token: `srn_${randomUUID()}`, name: r.name, labels: r.labels };
        this.runners.set(runner.id, runner);
        return send(200, { runnerId: runner.id, runnerToken: runner.token });
      }
      if (req.method === "POST" && path === "/v1/runner/claim") {
        const runner = this.runnerOf(req);
        body(P.ClaimRequest);
        this.claimCount++;
        if (this.failClaims && this.failClaims.remaining-- > 0) throw new Refusal(this.failClaims.status, "injected failure");
        const job = await new Promise<FakeJob | null>((resolve) => {
          // Matched on the labels it registered with, as the real dispatcher does.
          const waiter: Waiter = { runner, resolve };
          const timer = setTimeout(() => {
            this.waiters = this.waiters.filter((w) => w !== waiter);
            resolve(null);
          }, this.options.claimWaitMs);
          waiter.resolve = (j) => {
            clearTimeout(timer);
            resolve(j);
          };
          this.waiters.push(waiter);
          this.dispatch();
        });
        return job ? send(200, this.claimResponse(job)) : send(204);
      }
      if (req.method === "POST" && path === "/v1/runner/disconnect") {
        // As the dispatcher does: the runner's waiting claims end empty.
        const runner = this.runnerOf(req);
        this.disconnects.push(runner.id);
        for (const waiter of this.waiters.filter((w) => w.runner === runner)) waiter.resolve(null);
        this.waiters = this.waiters.filter((w) => w.runner !== runner);
        return send(204);
      }
      const m = /^\/v1\/runner\/jobs\/([^/]+)\/(heartbeat|complete|release|pipeline|steps\/([^/]+)|needs\/artifacts(?:\/(.+))?|artifacts\/([^/]+))$/.exec(path);
      const job = m ? this.jobs.get(decodeURIComponent(m[1] ?? "")) : undefined;
      if (!m || !job) throw new Refusal(404, `no route or job for ${req.method} ${path}`);
      const runner = this.jobHolder(req, job);
      const route = (m[2] ?? "").split("/")[0] ?? "";
      if (route === "heartbeat") {
        const lease = body(P.HeartbeatRequest);
        this.held(job, runner, lease, route);
        this.apply(job, { type: "heartbeat", at: Date.now(), fencingToken: lease.fencingToken, leaseMs: this.options.leaseMs });
        return send(200, { leaseExpiresAt: new Date(job.state.leaseExpiresAt ?? 0).toISOString(), cancel: job.state.cancelRequested });
      }
      if (route === "steps") {
        const update = body(P.StepUpdateRequest);
        this.held(job, runner, update, route);
        if (job.state.status === "claimed") this.apply(job, { type: "start", at: Date.now(), fencingToken: update.fencingToken });
        job.stepUpdates.push({ ...update, stepId: decodeURIComponent(m[3] ?? "") });
        return send(204);
      }
      if (route === "complete") {
        const result = body(P.CompleteRequest);
        this.held(job, runner, result, route);
        this.apply(job, { type: "complete", at: Date.now(), fencingToken: result.fencingToken, status: result.status, exitCode: result.exitCode });
        job.result = result;
        return send(204);
      }
      if (route === "release") {
        const release = body(P.ReleaseRequest);
        this.held(job, runner, release, route);
        this.apply(job, { type: "release", at: Date.now(), fencingToken: release.fencingToken });
        return send(204);
      }
      if (route === "needs") {
        const lease =
          req.method === "POST"
            ? body(P.Lease)
            : { leaseId: String(req.headers["sparki-lease-id"]), fencingToken: Number(req.headers["sparki-fencing-token"]) };
        this.held(job, runner, lease, route);
        const needed = job.spec.needed ?? [];
        const sha = (a: (typeof needed)[number]) => a.sha256 ?? createHash("sha256").update(a.bytes).digest("hex");
        if (req.method === "POST")
          return send(200, { items: needed.map((a) => ({ name: a.name, jobId: a.jobId, kind: a.kind, size: a.bytes.length, sha256: sha(a) })) });
        const found = needed.find((a) => a.name === decodeURIComponent(m[4] ?? ""));
        if (!found) throw new Refusal(404, "no such needed artifact");
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(found.bytes.length) });
        res.end(found.bytes);
        return;
      }
      if (route === "artifacts" && req.method === "POST" && m[5] === "reserve") {
        this.held(job, runner, body(P.ArtifactReserveRequest), route);
        return send(200, { uploadUrl: null, headers: {} });
      }
      if (route === "pipeline") {
        const upload = body(P.PipelineUploadRequest);
        this.held(job, runner, upload, route);
        job.pipeline = upload.pipeline;
        return send(204);
      }
      const name = P.ArtifactName.safeParse(decodeURIComponent(m[5] ?? ""));
      if (!name.success) throw new Refusal(400, `artifact name: ${name.error.issues[0]?.message}`);
      const headers = P.ArtifactUploadHeaders.safeParse(req.headers);
      if (!headers.success || req.method !== "PUT") throw new Refusal(400, "artifact upload needs PUT with lease headers");
      this.held(job, runner, { leaseId: headers.data["sparki-lease-id"], fencingToken: headers.data["sparki-fencing-token"] }, "artifacts");
      job.artifacts.set(name.data, { kind: headers.data["sparki-artifact-kind"], bytes: raw });
      return send(200, { name: name.data, size: raw.length, sha256: createHash("sha256").update(raw).digest("hex") });
    } catch (err) {
      const status = err instanceof Refusal ? err.status : 500;
      send(status, { type: "about:blank", title: "refused", status, detail: err instanceof Error ? err.message : String(err), instance: "fake" });
    }
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const refuse = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const m = /^\/v1\/runner\/jobs\/([^/]+)\/logs$/.exec(new URL(req.url ?? "/", this.url).pathname);
    const job = m ? this.jobs.get(decodeURIComponent(m[1] ?? "")) : undefined;
    if (!job) return refuse(404, "Not Found");
    let runner: Runner;
    try {
      runner = this.jobHolder(req, job);
      this.held(job, runner, { leaseId: String(req.headers["sparki-lease-id"]), fencingToken: Number(req.headers["sparki-fencing-token"]) }, "logs");
    } catch (err) {
      return refuse(err instanceof Refusal ? err.status : 500, "Refused");
    }
    const lease = { leaseId: String(req.headers["sparki-lease-id"]), fencingToken: Number(req.headers["sparki-fencing-token"]) };
    this.wss.handleUpgrade(req, socket, head, (ws) => this.logSocket(job, runner, lease, ws));
  }

  private logSocket(job: FakeJob, runner: Runner, lease: P.Lease, ws: WebSocket): void {
    job.logConnections++;
    job.sockets.add(ws);
    ws.once("close", () => job.sockets.delete(ws));
    let received = 0;
    // ws may still emit frames it had already read when the socket was cut; a real dropped
    // connection would not deliver them, so they are ignored.
    let cut = false;
    const reply = (frame: P.ServerLogFrame) => ws.send(JSON.stringify(frame));
    reply({ type: "resume", seq: job.held });
    ws.on("message", (data) => {
      if (cut) return;
      let frame: P.RunnerLogFrame;
      try {
        frame = P.RunnerLogFrame.parse(JSON.parse(data.toString()));
      } catch (err) {
        reply({ type: "error", code: "invalid_frame", message: err instanceof Error ? err.message.slice(0, 500) : "invalid" });
        return ws.close(P.LogCloseCode.invalidFrame, "invalid frame");
      }
      try {
        this.held(job, runner, lease, "logs");
      } catch {
        reply({ type: "error", code: "lease_lost", message: "the job is no longer held under this lease" });
        return ws.close(P.LogCloseCode.leaseLost, "lease lost");
      }
      const result = acceptFrame(job.held, frame);
      job.held = result.held;
      job.log.push(...result.accepted);
      received += frame.lines.length;
      if (job.cut && job.cut.remaining > 0 && received >= job.cut.afterLines) {
        // Stored but never acknowledged: the runner must resend, and the fake must drop the copies.
        job.cut.remaining--;
        cut = true;
        return ws.terminate();
      }
      reply(result.reply);
    });
  }
}
