/**
 * The coordinator's WebSockets, on the hibernation API: one socket per running job from its
 * runner (lines in, acks out) and any number of viewers (lines out, batched every 25 ms). Lines
 * go to SQLite as they arrive, never into memory as a whole, and to R2 when the build ends.
 */
import { LogCloseCode, RunnerLogFrame, type ServerLogFrame } from "../../core/contracts/runner.ts";
import type { ViewerFrame, ViewerLogLine } from "../../core/contracts/logs.ts";
import type { BuildStatus } from "../../core/build/index.ts";
import { createMasker, maskText, type Masker } from "../../core/log/mask.ts";
import { acceptFrame } from "../../core/log/sequence.ts";
import type { LogBudget, Meta, Store } from "./store.js";
import { buildLogKey } from "../../server/r2-keys.js";

const fanOutDelayMs = 25;
const backlogChunk = 1000;
/** Lines per read when writing the log out as text (each at most RunnerLimits.lineBytes). */
const archiveChunk = 1000;

const sizeText = (bytes: number) => (bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB` : `${Math.round(bytes)} bytes`);

/** Consecutive lines stored by one statement. */
type LogRun = { seq: number; step: string; ts: number; partial: 0 | 1; texts: string[] };

type Attachment = { role: "runner"; jobId: string; leaseId: string; fencingToken: number } | { role: "viewer"; sentUpTo: number };

const send = (ws: WebSocket, frame: ServerLogFrame | ViewerFrame) => {
  try {
    ws.send(JSON.stringify(frame));
  } catch {
    // The socket closed meanwhile; its close handler cleans up.
  }
};

export class LogSockets {
  #fanOutTimer: ReturnType<typeof setTimeout> | undefined;
  #fanOutDue = 0;
  #masks: Masker | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly store: Store,
    /** A build's log stops growing here, with a line saying so. */
    private readonly capBytes: number,
  ) {}

  /** Routes the coordinator's fetch: the runner's socket, a viewer's socket, or the text log. */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/logs.txt") return this.#text(url.searchParams.get("job"));
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
      this.ctx.acceptWebSocket(server, ["runner", `job:${jobId}`]);
      server.serializeAttachment({ role: "runner", jobId, leaseId, fencingToken } satisfies Attachment);
      send(server, { type: "resume", seq: this.#lastSeq(jobId, fencingToken) });
      send(server, { type: "watch", watched: this.#viewers().length > 0 });
    } else if (url.pathname === "/viewer") {
      const from = Math.max(1, Number(url.searchParams.get("from") ?? 1) || 1);
      const firstViewer = this.#viewers().length === 0;
      this.ctx.acceptWebSocket(server, ["viewer"]);
      if (firstViewer) this.#tellRunners(true);
      // One chunk before the handshake answer, the rest right after it: on a long log the
      // viewer sees its first lines without waiting for the whole backlog to be read and sent.
      const first = this.#lines(from, backlogChunk);
      if (first.length > 0) send(server, { type: "lines", lines: first });
      server.serializeAttachment({ role: "viewer", sentUpTo: first.at(-1)?.seq ?? from - 1 } satisfies Attachment);
      if (first.length < backlogChunk) this.#sendStatus(server);
      else setTimeout(() => this.#catchUp(server), 0);
    } else {
      return new Response("not found", { status: 404 });
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  message(ws: WebSocket, raw: string | ArrayBuffer): void {
    const att = ws.deserializeAttachment() as Attachment | null;
    if (att?.role !== "runner") return;
    const job = this.store.jobState(att.jobId);
    if (!job || job.fencingToken !== att.fencingToken || job.leaseId !== att.leaseId) {
      send(ws, { type: "error", code: "lease_lost", message: "This runner no longer holds the job." });
      ws.close(LogCloseCode.leaseLost, "lease lost");
      return;
    }
    let frame: RunnerLogFrame;
    try {
      frame = RunnerLogFrame.parse(JSON.parse(typeof raw === "string" ? raw : new TextDecoder().decode(raw)));
    } catch {
      send(ws, { type: "error", code: "invalid_frame", message: "The frame does not match the runner protocol." });
      ws.close(LogCloseCode.invalidFrame, "invalid frame");
      return;
    }
    const budget = this.store.logBudget();
    if (budget.truncated) {
      // Past the cap nothing is kept, but every line is taken: acked, so the runner moves on.
      send(ws, { type: "ack", seq: frame.lines.at(-1)?.seq ?? 0 });
      return;
    }
    const { accepted, reply } = acceptFrame(this.#lastSeq(att.jobId, att.fencingToken), frame);
    this.#store(att.jobId, att.fencingToken, accepted, budget);
    send(ws, reply);
    if (accepted.length > 0) this.#scheduleFanOut(frame.heldMs ?? 0);
  }

  closed(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // already closed
    }
    const att = ws.deserializeAttachment() as Attachment | null;
    if (att?.role === "viewer" && this.#viewers().every((v) => v === ws)) this.#tellRunners(false);
  }

  /** Viewer sockets still open. */
  #viewers(): WebSocket[] {
    return this.ctx.getWebSockets("viewer").filter((ws) => ws.readyState === WebSocket.OPEN);
  }

  /** Tells every connected runner whether the log is watched live (it paces its frames by it). */
  #tellRunners(watched: boolean): void {
    for (const ws of this.ctx.getWebSockets("runner")) send(ws, { type: "watch", watched });
  }

  /** Drops the in-memory copy of the secret values; the next line reloads them. */
  forgetMasks(): void {
    this.#masks = undefined;
  }

  /**
   * The runner masks before a line leaves it; this is the second line of defence, with the same
   * masker (every encoded form of each secret) as the runner's.
   */
  #mask(text: string): string {
    this.#masks ??= createMasker(this.ctx.storage.sql.exec<{ value: string }>("select value from masks").toArray().map((r) => r.value));
    return maskText(this.#masks, text);
  }

  /** Tells a running job's runner, if connected, that the build was cancelled. */
  pushCancel(jobId: string): void {
    for (const ws of this.ctx.getWebSockets(`job:${jobId}`)) send(ws, { type: "cancel" });
  }

  /** Disconnects a job's runner after its lease was lost. */
  dropRunner(jobId: string): void {
    for (const ws of this.ctx.getWebSockets(`job:${jobId}`)) {
      send(ws, { type: "error", code: "lease_lost", message: "The lease expired; the job was requeued." });
      ws.close(LogCloseCode.leaseLost, "lease lost");
    }
  }

  broadcastStatus(status: BuildStatus): void {
    this.#fanOut();
    for (const ws of this.ctx.getWebSockets("viewer")) send(ws, { type: "status", status });
  }

  /** Writes the whole log to R2 (streamed, never whole in memory); returns its key. */
  async archive(bucket: R2Bucket, meta: Meta): Promise<string> {
    const key = buildLogKey(meta.init.projectId, meta.init.buildId);
    const [row] = this.ctx.storage.sql
      .exec<{ bytes: number | null }>("select sum(length(cast(text as blob)) + case when partial = 1 then 0 else 1 end) as bytes from log_lines")
      .toArray();
    const length = row?.bytes ?? 0;
    const stream = new FixedLengthStream(length);
    const writing = this.#pump(stream.writable, null);
    await Promise.all([bucket.put(key, stream.readable, { httpMetadata: { contentType: "text/plain; charset=utf-8" } }), writing]);
    return key;
  }

  /** Stores a frame's new lines, up to the log's cap and a line saying where it was cut. */
  #store(jobId: string, fencing: number, lines: RunnerLogFrame["lines"], budget: LogBudget): void {
    if (lines.length === 0) return;
    // Consecutive lines of one step, chunk and kind go in with one statement: a burst's frame
    // is one or two such runs, and SQLite reads each text straight from the JSON array (a
    // statement per line, or several JSON lookups per line, was most of a frame's cost).
    const runs: LogRun[] = [];
    const add = (seq: number, step: string, ts: number, text: string, partial: 0 | 1) => {
      const last = runs.at(-1);
      if (last && last.step === step && last.ts === ts && last.partial === partial && last.seq + last.texts.length === seq) last.texts.push(text);
      else runs.push({ seq, step, ts, partial, texts: [text] });
    };
    for (const line of lines) {
      const bytes = line.text.length + 1;
      if (budget.bytes + bytes > this.capBytes) {
        budget.truncated = true;
        add(line.seq, "sparki:runner", line.ts, `[sparki] The log reached its ${sizeText(this.capBytes)} limit here; later lines were not kept.`, 0);
        break;
      }
      budget.bytes += bytes;
      add(line.seq, line.step, line.ts, this.#mask(line.text), line.partial ? 1 : 0);
    }
    for (const run of runs) {
      this.ctx.storage.sql.exec(
        `insert into log_lines (job_id, fencing, job_seq, step, ts, text, partial)
         select ?, ?, ? + key, ?, ?, value, ? from json_each(?) where true
         on conflict (job_id, fencing, job_seq) do nothing`,
        jobId,
        fencing,
        run.seq,
        run.step,
        run.ts,
        run.partial,
        JSON.stringify(run.texts),
      );
    }
    this.store.saveLogBudget(budget);
  }

  #lastSeq(jobId: string, fencing: number): number {
    const [row] = this.ctx.storage.sql.exec<{ seq: number | null }>("select max(job_seq) as seq from log_lines where job_id = ? and fencing = ?", jobId, fencing).toArray();
    return row?.seq ?? 0;
  }

  #lines(from: number, limit: number): ViewerLogLine[] {
    return this.ctx.storage.sql
      .exec<{ seq: number; job_id: string; step: string; ts: number; text: string; partial: number }>(
        "select seq, job_id, step, ts, text, partial from log_lines where seq >= ? order by seq limit ?",
        from,
        limit,
      )
      .toArray()
      .map((r) => ({ seq: r.seq, jobId: r.job_id, step: r.step, ts: r.ts, text: r.text, ...(r.partial ? { partial: true as const } : {}) }));
  }

  /** Sends every stored line from `from`; returns the last seq sent. */
  /** The rest of a new viewer's backlog (from wherever fan-out has brought it meanwhile), then the status. */
  #catchUp(ws: WebSocket): void {
    const att = ws.deserializeAttachment() as Attachment | null;
    if (att?.role !== "viewer") return;
    let last = att.sentUpTo;
    try {
      for (;;) {
        const lines = this.#lines(last + 1, backlogChunk);
        if (lines.length === 0) break;
        send(ws, { type: "lines", lines });
        last = lines[lines.length - 1]?.seq ?? last;
      }
      ws.serializeAttachment({ role: "viewer", sentUpTo: last } satisfies Attachment);
      this.#sendStatus(ws);
    } catch {
      // The viewer left meanwhile.
    }
  }

  #sendStatus(ws: WebSocket): void {
    const status = this.store.meta()?.state.status;
    if (status) send(ws, { type: "status", status });
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
    for (const ws of this.ctx.getWebSockets("viewer")) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (att?.role !== "viewer") continue;
      byPosition.set(att.sentUpTo, [...(byPosition.get(att.sentUpTo) ?? []), ws]);
    }
    for (const [sentUpTo, sockets] of byPosition) {
      let last = sentUpTo;
      for (;;) {
        const lines = this.#lines(last + 1, backlogChunk);
        if (lines.length === 0) break;
        const frame = JSON.stringify({ type: "lines", lines } satisfies ViewerFrame);
        for (const ws of sockets) {
          try {
            ws.send(frame);
          } catch {
            // Closed meanwhile; its close handler cleans up.
          }
        }
        last = lines[lines.length - 1]?.seq ?? last;
      }
      if (last > sentUpTo) for (const ws of sockets) ws.serializeAttachment({ role: "viewer", sentUpTo: last } satisfies Attachment);
    }
  }

  /** The log as text: each line's text, plus a newline unless it was partial. */
  #text(jobId: string | null): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    void this.#pump(writable, jobId);
    return new Response(readable, { headers: { "content-type": "text/plain; charset=utf-8" } });
  }

  async #pump(writable: WritableStream<Uint8Array>, jobId: string | null): Promise<void> {
    const writer = writable.getWriter();
    const encoder = new TextEncoder();
    let next = 1;
    try {
      for (;;) {
        // SQLite joins each chunk of lines into one string: a row object per line was most of
        // the cost of archiving a long log.
        const [chunk] = this.ctx.storage.sql
          .exec<{ body: string | null; last: number | null }>(
            `select group_concat(text || case when partial = 1 then '' else char(10) end, '' order by seq) as body, max(seq) as last
             from (select seq, text, partial from log_lines where seq >= ? ${jobId ? "and job_id = ?" : ""} order by seq limit ?)`,
            ...(jobId ? [next, jobId, archiveChunk] : [next, archiveChunk]),
          )
          .toArray();
        if (!chunk?.last) break;
        await writer.write(encoder.encode(chunk.body ?? ""));
        next = chunk.last + 1;
      }
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => undefined);
    }
  }
}
