/**
 * Sequence numbering with ack/resume, both ends of the log socket.
 *
 * The runner's {@link LogOutbox} numbers lines from 1, keeps every line until the server
 * acknowledges it, and after a reconnect resends from the server's `resume` seq. The server's
 * {@link acceptFrame} keeps only lines past the highest seq it holds, so a resent line is
 * dropped rather than doubled, and a frame that would leave a gap is refused with a `resume`.
 * Neither does I/O or reads a clock: the caller passes timestamps in.
 */
import type { LogLine, RunnerLogFrame, ServerLogFrame } from "../contracts/runner.ts";
import type { FramedLine } from "./lines.ts";

/** Limits of one `lines` frame and of the lines in flight (sent, not yet acknowledged). */
export interface FrameLimits {
  maxLines: number;
  maxBytes: number;
  /** Bytes of text sent but unacknowledged beyond which nothing more is sent. */
  windowBytes: number;
}

/**
 * The runner's unacknowledged lines. Mutable for speed (a busy job appends 100k lines, and
 * copying arrays per line would be quadratic), but free of I/O, so it is tested as pure code.
 */
export class LogOutbox {
  /** Lines from `head` on are held; acknowledged ones before it are dropped in batches. */
  private lines: LogLine[] = [];
  private head = 0;
  /** Index in `lines` of the first line not yet sent on the current connection. */
  private sendIndex = 0;
  private nextSeq = 1;
  private ackedSeq = 0;
  private heldBytes = 0;
  private inFlightBytes = 0;

  /** Numbers and stores framed lines of one step; returns the lines as numbered. */
  append(step: string, ts: number, framed: readonly FramedLine[]): LogLine[] {
    const start = this.lines.length;
    for (const f of framed) {
      const line: LogLine = f.partial ? { seq: this.nextSeq++, step, ts, text: f.text, partial: true } : { seq: this.nextSeq++, step, ts, text: f.text };
      this.lines.push(line);
      this.heldBytes += line.text.length;
    }
    return this.lines.slice(start);
  }

  /** The next frame to send, or null when everything is sent or the window is full. */
  nextFrame(limits: FrameLimits): RunnerLogFrame | null {
    if (this.sendIndex >= this.lines.length || this.inFlightBytes >= limits.windowBytes) return null;
    const from = this.sendIndex;
    let bytes = 0;
    while (this.sendIndex < this.lines.length && this.sendIndex - from < limits.maxLines) {
      const size = (this.lines[this.sendIndex] as LogLine).text.length;
      if (this.sendIndex > from && bytes + size > limits.maxBytes) break;
      bytes += size;
      this.sendIndex++;
    }
    this.inFlightBytes += bytes;
    const batch = this.lines.slice(from, this.sendIndex);
    return { type: "lines", fromSeq: (batch[0] as LogLine).seq, lines: batch };
  }

  /** Applies a server frame: `ack` forgets confirmed lines, `resume` also rewinds sending. */
  receive(frame: ServerLogFrame): void {
    switch (frame.type) {
      case "ack":
        this.forgetThrough(frame.seq);
        return;
      case "resume":
        this.forgetThrough(frame.seq);
        this.rewind();
        return;
      case "cancel":
      case "error":
      case "watch":
        return;
      default: {
        const unreachable: never = frame;
        throw new Error(`unknown frame ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** The connection dropped: whatever was in flight must be sent again after `resume`. */
  rewind(): void {
    this.sendIndex = this.head;
    this.inFlightBytes = 0;
  }

  private forgetThrough(seq: number): void {
    if (seq <= this.ackedSeq) return;
    while (this.head < this.lines.length && (this.lines[this.head] as LogLine).seq <= seq) {
      const size = (this.lines[this.head] as LogLine).text.length;
      this.heldBytes -= size;
      if (this.head < this.sendIndex) this.inFlightBytes -= size;
      else this.sendIndex = this.head + 1;
      this.head++;
    }
    // Dropping the acknowledged lines by copying the rest on every ack was quadratic on a
    // burst (hundreds of acks over 100k held lines); compacting once they are half is not.
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.sendIndex -= this.head;
      this.head = 0;
    }
    this.ackedSeq = Math.min(seq, this.nextSeq - 1);
  }

  /** Highest seq the server confirmed. */
  get acked(): number {
    return this.ackedSeq;
  }
  /** Highest seq assigned so far (0 before the first line). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }
  /** Bytes of text held until acknowledged: the producer pauses when this is too high. */
  get bytes(): number {
    return this.heldBytes;
  }
  /** Would the next frame be full (by `limits`) if it left now? */
  fullFrameWaiting(limits: FrameLimits): boolean {
    return this.lines.length - this.sendIndex >= limits.maxLines || this.heldBytes - this.inFlightBytes >= limits.maxBytes;
  }
  /** True when every line ever appended has been acknowledged. */
  get drained(): boolean {
    return this.head === this.lines.length;
  }
}

/** What the server does with one `lines` frame. */
export interface AcceptResult {
  /** New highest seq held. */
  held: number;
  /** Lines to store, in order (duplicates already dropped). */
  accepted: LogLine[];
  /** The frame to answer with. */
  reply: ServerLogFrame;
}

/**
 * Server side: given the highest seq held, keeps the new lines of a frame. A frame starting
 * past `held + 1` means lines were lost in between (a frame sent on a dying socket), so
 * nothing is kept and the runner is told where to resume.
 */
export function acceptFrame(held: number, frame: RunnerLogFrame): AcceptResult {
  if (frame.fromSeq > held + 1) return { held, accepted: [], reply: { type: "resume", seq: held } };
  const accepted = frame.lines.filter((line) => line.seq > held);
  const last = accepted.at(-1);
  const next = last ? last.seq : held;
  return { held: next, accepted, reply: { type: "ack", seq: next } };
}
