/**
 * The log loop: one WebSocket per job carrying numbered lines to the control plane.
 *
 * Output goes masker → line framer → {@link LogOutbox} (bounded: a step whose output outruns
 * the socket is paused, not dropped) → the socket, at most a window of unacknowledged bytes at
 * a time. When the socket drops, the loop reconnects with backoff and resends from the
 * server's `resume` seq; the server drops what it already holds, so nothing is lost or doubled.
 *
 * Frames are coalesced: the first line after a quiet spell goes out at once, but while output
 * keeps coming a frame leaves at most every `frameIntervalMs` (`unwatchedFrameIntervalMs` while
 * the server says nobody watches the log live), carrying everything written meanwhile. The
 * coordinator's cost is per frame (one storage commit, one ack), so a step that writes a line
 * per process it starts would otherwise cost a frame per line. Coalescing only delays `pump`;
 * framing a big write may wait a few event-loop turns (see `later`), and `close` frames
 * everything still waiting, so a reconnect, `close` or the step's end never leaves a line out.
 * A full frame, a step's end, `close` and a `resume` send at once; the one timer is unref'd and
 * cleared by `close`.
 */
import WebSocket from "ws";
import { LogCloseCode, RunnerLimits, ServerLogFrame } from "../core/contracts/runner.ts";
import { flushLines, initialLineState, splitLines, type LineState } from "../core/log/lines.ts";
import { initialMaskState, maskChunk, maskFlush, maskText, type Masker, type MaskState } from "../core/log/mask.ts";
import { LogOutbox, type FrameLimits } from "../core/log/sequence.ts";
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import type { OutputSink } from "../node/output-sink.ts";

export type { OutputSink };

export interface LogStreamOptions {
  url: string;
  headers: Record<string, string>;
  masker: Masker;
  /** The server pushed a cancel over the socket. */
  onCancel?: () => void;
  /** One line on the runner's stdout per event (reconnects). */
  say: (message: string) => void;
  backoff?: BackoffOptions;
  limits?: Partial<FrameLimits>;
  /** Producers pause above this many unacknowledged bytes, and resume below half of it. */
  highWaterBytes?: number;
  /** Least time between two frames while output keeps coming and someone watches (0: a frame per write). */
  frameIntervalMs?: number;
  /** The same while nobody watches the log live. */
  unwatchedFrameIntervalMs?: number;
}

/**
 * Frames of at most 32 KiB of text: a bigger frame's JSON is a string V8 keeps in its large-object
 * space, and encoding and collecting those cost 2.5× as much per line as several small frames did
 * (bench/runner's 7 MB burst); the coordinator's cost per frame is small next to that.
 */
const DEFAULT_LIMITS: FrameLimits = { maxLines: RunnerLimits.frameLines, maxBytes: 32 * 1024, windowBytes: 1024 * 1024 };
/**
 * While someone watches: within the coordinator's 25 ms fan-out window, which it shortens by
 * the time a frame waited here (`heldMs`), so viewers wait no longer than behind a plain relay.
 */
const DEFAULT_FRAME_INTERVAL_MS = 15;
/**
 * While nobody watches: a frame costs about 1 ms of CPU here and 2 in the coordinator, on a
 * host whose cores the step needs (bench/runner: 15 ms frames slowed a step by 10–20 %, 100 ms
 * frames by under 3 %). Lines still reach storage within this, and `logs.txt` shows them.
 */
const DEFAULT_UNWATCHED_FRAME_INTERVAL_MS = 250;

/** Writes at least this big are framed a slice at a time rather than at once (see `later`). */
const INLINE_FRAMING_BYTES = 16 * 1024;
/** Bytes framed per event-loop turn while work waits: half of what one turn reads from a full pipe. */
const FRAMING_SLICE_BYTES = 32 * 1024;

/** The job's log stream. Call {@link start} once, write through {@link sink}s, then {@link close}. */
export class LogStream {
  private readonly outbox = new LogOutbox();
  private readonly limits: FrameLimits;
  private readonly highWater: number;
  private readonly frameIntervals: { watched: number; unwatched: number };
  /** Until the server says otherwise, someone may be watching. */
  private watched = true;
  /** performance.now() of the last frame sent; the next waits a frame interval after it. */
  private lastSentAt = -Infinity;
  private pumpTimer: NodeJS.Timeout | null = null;
  /** Sink work not done yet, in write order (see {@link later}). */
  private readonly unframed: { bytes: number; work: () => void }[] = [];
  private unframedBytes = 0;
  private frameSoon: NodeJS.Immediate | null = null;
  private socket: WebSocket | null = null;
  /** True once the current socket got its `resume`: sending before it could skip lines. */
  private resumed = false;
  private closing = false;
  private stopped = false;
  private readonly drainWaiters: (() => void)[] = [];
  private readonly ackWaiters: (() => void)[] = [];
  private readonly stopController = new AbortController();
  private loop: Promise<void> | null = null;
  /** Set when the server said the lease is gone: nothing will be accepted any more. */
  leaseLost = false;

  constructor(private readonly options: LogStreamOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.highWater = options.highWaterBytes ?? 8 * 1024 * 1024;
    this.frameIntervals = {
      watched: options.frameIntervalMs ?? DEFAULT_FRAME_INTERVAL_MS,
      unwatched: options.unwatchedFrameIntervalMs ?? DEFAULT_UNWATCHED_FRAME_INTERVAL_MS,
    };
  }

  /** Starts the connect loop in the background. */
  start(): void {
    this.loop ??= this.connectLoop();
  }

  /** A writer for one step (or runner pseudo-step) of the log. */
  sink(step: string): OutputSink {
    let mask: MaskState = initialMaskState;
    let lines: LineState = initialLineState;
    const push = (bytes: Uint8Array, at: number) => {
      const framed = splitLines(lines, bytes, RunnerLimits.lineBytes);
      lines = framed.state;
      if (framed.lines.length > 0) this.append(step, framed.lines, at);
    };
    return {
      write: (chunk) => {
        const at = Date.now();
        this.later(chunk.length, () => {
          const out = maskChunk(this.options.masker, mask, chunk);
          mask = out.state;
          push(out.output, at);
        });
        return this.held < this.highWater;
      },
      onDrain: (fn) => {
        if (this.held < this.highWater / 2) fn();
        else this.drainWaiters.push(fn);
      },
      note: (text) => {
        const at = Date.now();
        this.later(0, () => this.append(step, [{ text: maskText(this.options.masker, text) }], at));
      },
      end: () => {
        const at = Date.now();
        this.later(0, () => {
          push(maskFlush(this.options.masker, mask), at);
          mask = initialMaskState;
          const rest = flushLines(lines);
          lines = initialLineState;
          if (rest.length > 0) this.outbox.append(step, at, rest);
          // The step is over: its last lines need not wait for the next frame slot.
          this.pump();
        });
      },
    };
  }

  /** Bytes written and not yet acknowledged, framed or not: what backpressure counts. */
  private get held(): number {
    return this.unframedBytes + this.outbox.bytes;
  }

  /**
   * Runs a sink's work now, or in order behind the work already waiting. A small write on an
   * idle stream is framed at once; a big one (a burst fills the pipe in 64 KiB reads) waits,
   * and waiting work is done a slice per event-loop turn, smaller than what a turn reads. So
   * the step's pipe is read about as fast as a plain reader would and the step is not held
   * back by the framing, which catches up once the burst ends (bench/runner).
   */
  private later(bytes: number, work: () => void): void {
    if (this.unframed.length === 0 && bytes < INLINE_FRAMING_BYTES) return work();
    this.unframed.push({ bytes, work });
    this.unframedBytes += bytes;
    this.frameSoon ??= setImmediate(() => this.frameSome(FRAMING_SLICE_BYTES));
  }

  /** Does waiting framing work, at least `budget` bytes of it (everything for Infinity). */
  private frameSome(budget: number): void {
    this.frameSoon = null;
    let done = 0;
    while (this.unframed.length > 0 && done < budget) {
      const next = this.unframed.shift() as { bytes: number; work: () => void };
      this.unframedBytes -= next.bytes;
      done += Math.max(1, next.bytes);
      next.work();
    }
    if (this.unframed.length > 0) this.frameSoon = setImmediate(() => this.frameSome(FRAMING_SLICE_BYTES));
    this.wakeProducers();
  }

  private wakeProducers(): void {
    if (this.held < this.highWater / 2) for (const fn of this.drainWaiters.splice(0)) fn();
  }

  private append(step: string, framed: Parameters<LogOutbox["append"]>[2], at: number): void {
    this.outbox.append(step, at, framed);
    this.schedulePump();
  }

  /** Pumps now if a full frame waits or the last frame left at least a frame interval ago, else once it has. */
  private schedulePump(): void {
    // A full frame gains nothing by waiting: pacing is for trickles, never a cap on throughput.
    if (this.outbox.fullFrameWaiting(this.limits)) return this.pump();
    if (this.pumpTimer) return;
    const wait = this.lastSentAt + (this.watched ? this.frameIntervals.watched : this.frameIntervals.unwatched) - performance.now();
    if (wait <= 0) return this.pump();
    this.pumpTimer = setTimeout(() => this.pump(), wait);
    // Never what keeps the runner alive: `close` pumps and clears it.
    this.pumpTimer.unref();
  }

  /** Sends frames while the socket is ready and the window allows. */
  private pump(): void {
    if (this.pumpTimer) {
      clearTimeout(this.pumpTimer);
      this.pumpTimer = null;
    }
    const ws = this.socket;
    if (!ws || !this.resumed || ws.readyState !== WebSocket.OPEN) return;
    for (let frame = this.outbox.nextFrame(this.limits); frame; frame = this.outbox.nextFrame(this.limits)) {
      // The coordinator takes the time its first line waited here off its own batching.
      frame.heldMs = Math.max(0, Date.now() - (frame.lines[0]?.ts ?? Date.now()));
      // Encoded here: given a string, ws measures its UTF-8 length with Buffer.byteLength, which
      // on a frame holding any non-Latin-1 character (a ✓ in test output) cost more than
      // encoding it (a third of the runner's CPU on a 7 MB burst, bench/runner).
      ws.send(Buffer.from(JSON.stringify(frame)), { binary: false });
      this.lastSentAt = performance.now();
    }
  }

  private onServerFrame(data: WebSocket.RawData): void {
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      return;
    }
    const frame = ServerLogFrame.safeParse(json);
    if (!frame.success) return;
    if (frame.data.type === "cancel") {
      this.options.onCancel?.();
      return;
    }
    if (frame.data.type === "watch") {
      this.watched = frame.data.watched;
      // A new viewer should not wait out a slow frame slot for the lines held here.
      if (frame.data.watched) this.pump();
      return;
    }
    if (frame.data.type === "error") {
      this.options.say(`log stream refused: ${frame.data.message}`);
      if (frame.data.code === "lease_lost") this.leaseLost = true;
      return;
    }
    this.outbox.receive(frame.data);
    this.wakeProducers();
    if (this.outbox.drained) for (const fn of this.ackWaiters.splice(0)) fn();
    if (frame.data.type === "resume") {
      // A new connection (or a gap the server noticed): resend at once.
      this.resumed = true;
      this.pump();
    } else {
      // An ack may have opened the window; what waits goes in the next frame slot.
      this.schedulePump();
    }
  }

  /** One connection's life; resolves when it closes. */
  private connectOnce(onResumed: () => void): Promise<{ code: number }> {
    return new Promise((resolve) => {
      // No permessage-deflate: the log shares the host's cores with the step it streams, and
      // compressing it was about a third of the runner's log CPU (bench/runner); logs are small
      // next to what a connection to the edge carries.
      const ws = new WebSocket(this.options.url, { headers: this.options.headers, handshakeTimeout: 10_000, perMessageDeflate: false });
      this.socket = ws;
      this.resumed = false;
      ws.on("message", (data) => {
        const wasResumed = this.resumed;
        this.onServerFrame(data);
        if (!wasResumed && this.resumed) onResumed();
      });
      ws.on("error", () => {
        // The close event follows; the reason is reported there.
      });
      ws.on("unexpected-response", (_req, res) => {
        if (res.statusCode === 409) this.leaseLost = true;
        ws.terminate();
      });
      ws.on("close", (code) => {
        this.socket = null;
        this.resumed = false;
        this.outbox.rewind();
        resolve({ code });
      });
    });
  }

  private async connectLoop(): Promise<void> {
    const backoff = new Backoff(this.options.backoff);
    let connections = 0;
    while (!this.stopped && !this.leaseLost) {
      const { code } = await this.connectOnce(() => backoff.reset());
      connections++;
      if (code === LogCloseCode.leaseLost) this.leaseLost = true;
      if (this.stopped || this.leaseLost || (this.closing && this.outbox.drained)) break;
      const wait = backoff.next();
      this.options.say(`log stream disconnected (code ${code}), reconnecting in ${(wait / 1000).toFixed(1)} s (${connections} so far)`);
      await sleep(wait, this.stopController.signal);
    }
    for (const fn of this.ackWaiters.splice(0)) fn();
  }

  /**
   * Waits until the server acknowledged every line (or `timeoutMs` passed, or the lease was
   * lost), then closes the socket. Returns whether everything was acknowledged.
   */
  async close(timeoutMs: number): Promise<boolean> {
    this.closing = true;
    if (this.frameSoon) clearImmediate(this.frameSoon);
    this.frameSome(Infinity);
    this.pump();
    if (!this.outbox.drained && !this.leaseLost) {
      // The timer goes with the race: left running, it kept the process alive for the whole
      // timeout after the last ack (an ephemeral runner exited a minute after its job).
      const acked = new AbortController();
      await Promise.race([new Promise<void>((resolve) => this.ackWaiters.push(resolve)), sleep(timeoutMs, acked.signal)]);
      acked.abort();
    }
    const drained = this.outbox.drained;
    this.stopped = true;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = null;
    this.stopController.abort();
    this.socket?.close(1000, "job finished");
    await this.loop;
    // Producers paused on a dead stream must not hang forever.
    for (const fn of this.drainWaiters.splice(0)) fn();
    return drained;
  }

  /** Highest seq assigned so far. */
  get lastSeq(): number {
    return this.outbox.lastSeq;
  }
}
