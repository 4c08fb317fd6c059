/**
 * The coordinator's WebSockets, on the hibernation API (durable-objects/hibernating-sockets.ts):
 * one socket per running job from its runner (lines in, acks out) and any number of viewers
 * (lines out, batched every 25 ms). Lines go to SQLite as they arrive (log-lines.ts), never into
 * memory as a whole, and to R2 when the build ends.
 */
import { LogCloseCode, RunnerLogFrame, type ServerLogFrame } from "../../core/contracts/runner.ts";
import type { ViewerFrame } from "../../core/contracts/logs.ts";
import type { BuildStatus } from "../../core/build/index.ts";
import { acceptFrame } from "../../core/log/sequence.ts";
import { type ConnectionCount, HibernatingSockets } from "../hibernating-sockets.js";
import type { LogLines } from "./log-lines.js";
import type { Store } from "./store.js";

const fanOutDelayMs = 25;
const backlogChunk = 1000;

/** What each socket carries across hibernation: a runner's lease, or how far a viewer has been sent. */
type Attachment = { role: "runner"; jobId: string; leaseId: string; fencingToken: number } | { role: "viewer"; sentUpTo: number };

export class LogSockets {
  readonly #sockets: HibernatingSockets<Attachment>;
  #fanOutTimer: ReturnType<typeof setTimeout> | undefined;
  #fanOutDue = 0;

  constructor(
    ctx: DurableObjectState,
    private readonly store: Store,
    private readonly lines: LogLines,
    count?: ConnectionCount,
  ) {
    this.#sockets = new HibernatingSockets(ctx, count);
  }

  #send(ws: WebSocket, frame: ServerLogFrame | ViewerFrame): void {
    this.#sockets.send(ws, frame);
  }

  /** Routes the coordinator's fetch: the runner's socket, a viewer's socket, or the text log. */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/logs.txt") return this.lines.text(url.searchParams.get("job"));
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    if (url.pathname === "/runner") {
      const jobId = url.searchParams.get("job") ?? "";
      const leaseId = url.searchParams.get("lease") ?? "";
      const fencingToken = Number(url.searchParams.get("fencing"));
      const runnerId = url.searchParams.get("runner") ?? "";
      const job = this.store.job(jobId);
      // The lease is bound to the runner that claimed it: its values alone do not open the socket.
      if (!job || job.state.leaseId !== leaseId || job.state.fencingToken !== fencingToken || job.state.runnerId !== runnerId) {
        return new Response("this runner does not hold the job", { status: 409 });
      }
      this.#sockets.accept(server, "runner", { role: "runner", jobId, leaseId, fencingToken }, [`job:${jobId}`]);
      this.#send(server, { type: "resume", seq: this.lines.lastSeq(jobId, fencingToken) });
      this.#send(server, { type: "watch", watched: this.#sockets.open("viewer").length > 0 });
    } else if (url.pathname === "/viewer") {
      const from = Math.max(1, Number(url.searchParams.get("from") ?? 1) || 1);
      const firstViewer = this.#sockets.open("viewer").length === 0;
      this.#sockets.accept(server, "viewer", { role: "viewer", sentUpTo: from - 1 });
      if (firstViewer) this.#tellRunners(true);
      // One chunk before the handshake answer, the rest right after it: on a long log the
      // viewer sees its first lines without waiting for the whole backlog to be read and sent.
      const first = this.lines.read(from, backlogChunk);
      if (first.length > 0) this.#send(server, { type: "lines", lines: first });
      this.#sockets.setData(server, { role: "viewer", sentUpTo: first.at(-1)?.seq ?? from - 1 });
      if (first.length < backlogChunk) this.#sendStatus(server);
      else setTimeout(() => this.#catchUp(server), 0);
    } else {
      return new Response("not found", { status: 404 });
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  message(ws: WebSocket, raw: string | ArrayBuffer): void {
    const att = this.#sockets.data(ws);
    if (att?.role !== "runner") return;
    const job = this.store.jobState(att.jobId);
    if (!job || job.fencingToken !== att.fencingToken || job.leaseId !== att.leaseId) {
      this.#send(ws, { type: "error", code: "lease_lost", message: "This runner no longer holds the job." });
      this.#sockets.close(ws, LogCloseCode.leaseLost, "lease lost");
      return;
    }
    let frame: RunnerLogFrame;
    try {
      frame = RunnerLogFrame.parse(JSON.parse(typeof raw === "string" ? raw : new TextDecoder().decode(raw)));
    } catch {
      this.#send(ws, { type: "error", code: "invalid_frame", message: "The frame does not match the runner protocol." });
      this.#sockets.close(ws, LogCloseCode.invalidFrame, "invalid frame");
      return;
    }
    const budget = this.store.logBudget();
    if (budget.truncated) {
      // Past the cap nothing is kept, but every line is taken: acked, so the runner moves on.
      this.#send(ws, { type: "ack", seq: frame.lines.at(-1)?.seq ?? 0 });
      return;
    }
    const { accepted, reply } = acceptFrame(this.lines.lastSeq(att.jobId, att.fencingToken), frame);
    this.lines.append(att.jobId, att.fencingToken, accepted, budget);
    this.#send(ws, reply);
    if (accepted.length > 0) this.#scheduleFanOut(frame.heldMs ?? 0);
  }

  /** The coordinator's webSocketClose: the last viewer leaving tells the runners nobody watches. */
  closed(ws: WebSocket, code: number): void {
    this.#left(this.#sockets.closed(ws, code), ws);
  }

  /** The coordinator's webSocketError: the socket is gone without a close frame. */
  errored(ws: WebSocket): void {
    this.#left(this.#sockets.ended(ws), ws);
  }

  #left(socket: { kind: string } | null, ws: WebSocket): void {
    if (socket?.kind === "viewer" && this.#sockets.open("viewer", ws).length === 0) this.#tellRunners(false);
  }

  /** Tells every connected runner whether the log is watched live (it paces its frames by it). */
  #tellRunners(watched: boolean): void {
    this.#sockets.broadcast("runner", { type: "watch", watched } satisfies ServerLogFrame);
  }

  /** Tells a running job's runner, if connected, that the build was cancelled. */
  pushCancel(jobId: string): void {
    this.#sockets.broadcast(`job:${jobId}`, { type: "cancel" } satisfies ServerLogFrame);
  }

  /** Disconnects a job's runner after its lease was lost. */
  dropRunner(jobId: string): void {
    for (const ws of this.#sockets.open(`job:${jobId}`)) {
      this.#send(ws, { type: "error", code: "lease_lost", message: "The lease expired; the job was requeued." });
      this.#sockets.close(ws, LogCloseCode.leaseLost, "lease lost");
    }
  }

  broadcastStatus(status: BuildStatus): void {
    this.#fanOut();
    this.#sockets.broadcast("viewer", { type: "status", status } satisfies ViewerFrame);
  }

  /** The rest of a new viewer's backlog (from wherever fan-out has brought it meanwhile), then the status. */
  #catchUp(ws: WebSocket): void {
    const att = this.#sockets.data(ws);
    if (att?.role !== "viewer") return;
    let last = att.sentUpTo;
    for (;;) {
      const lines = this.lines.read(last + 1, backlogChunk);
      if (lines.length === 0) break;
      // The viewer left meanwhile.
      if (!this.#sockets.send(ws, { type: "lines", lines } satisfies ViewerFrame)) return;
      last = lines[lines.length - 1]?.seq ?? last;
    }
    try {
      this.#sockets.setData(ws, { role: "viewer", sentUpTo: last });
      this.#sendStatus(ws);
    } catch {
      // The viewer left meanwhile.
    }
  }

  #sendStatus(ws: WebSocket): void {
    const status = this.store.meta()?.state.status;
    if (status) this.#send(ws, { type: "status", status });
  }

  /**
   * Fans out 25 ms after the oldest unsent line was written, less the time the runner already
   * held it: the runner's frame coalescing and this batching share one window, so a viewer waits
   * no longer than behind a plain 25 ms relay. The cost of fan-out is per frame, not per line
   * (LOCAL-STACK.md), hence the batching at all.
   */
  #scheduleFanOut(heldMs: number): void {
    const due = Date.now() + Math.max(0, fanOutDelayMs - heldMs);
    if (this.#fanOutTimer !== undefined && this.#fanOutDue <= due) return;
    clearTimeout(this.#fanOutTimer);
    this.#fanOutDue = due;
    this.#fanOutTimer = setTimeout(() => this.#fanOut(), due - Date.now());
  }

  #fanOut(): void {
    clearTimeout(this.#fanOutTimer);
    this.#fanOutTimer = undefined;
    // Viewers that are caught up share a position: read and serialise once per position, not
    // once per viewer (with 100 viewers, per-viewer work was most of the object's CPU).
    const byPosition = new Map<number, WebSocket[]>();
    for (const ws of this.#sockets.open("viewer")) {
      const att = this.#sockets.data(ws);
      if (att?.role !== "viewer") continue;
      byPosition.set(att.sentUpTo, [...(byPosition.get(att.sentUpTo) ?? []), ws]);
    }
    for (const [sentUpTo, sockets] of byPosition) {
      let last = sentUpTo;
      for (;;) {
        const lines = this.lines.read(last + 1, backlogChunk);
        if (lines.length === 0) break;
        const frame = JSON.stringify({ type: "lines", lines } satisfies ViewerFrame);
        for (const ws of sockets) this.#sockets.send(ws, frame);
        last = lines[lines.length - 1]?.seq ?? last;
      }
      if (last > sentUpTo) for (const ws of sockets) this.#sockets.setData(ws, { role: "viewer", sentUpTo: last });
    }
  }
}
