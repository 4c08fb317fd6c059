/**
 * The build's live log socket (GET /v1/builds/:id/logs, authenticated by the session cookie).
 * Frames are checked against the ViewerFrame contract. A dropped socket is reopened from the
 * last seq + 1 with a growing delay, until the build has ended and its log was read to the end.
 */
import { socketUrl } from "../api.ts";
import { ViewerFrame, type LogLine, type Out, type BuildStatus } from "../contracts.ts";

const FINAL = new Set(["succeeded", "failed", "cancelled", "timed_out"]);

export interface StreamHandlers {
  lines(lines: LogLine[]): void;
  status(status: Out<typeof BuildStatus>): void;
  /** "live", "reconnecting" or "ended", for the page to show. */
  state(state: "connecting" | "live" | "reconnecting" | "ended"): void;
}

export class LogStream {
  private socket: WebSocket | null = null;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private ended = false;

  constructor(
    private readonly buildId: string,
    private readonly handlers: StreamHandlers,
    private readonly lastSeq: () => number,
  ) {}

  open(): void {
    if (this.closed) return;
    this.handlers.state(this.attempts === 0 ? "connecting" : "reconnecting");
    const early = adoptEarlySocket(this.buildId);
    const ws = early?.ws ?? new WebSocket(socketUrl(`/v1/builds/${encodeURIComponent(this.buildId)}/logs?from=${this.lastSeq() + 1}`));
    this.socket = ws;
    performance.mark("sparki:socket");
    ws.onopen = () => {
      this.attempts = 0;
      this.handlers.state("live");
    };
    ws.onmessage = (event) => this.receive(event.data);
    if (early) {
      if (ws.readyState === WebSocket.OPEN) ws.onopen(new Event("open"));
      for (const data of early.frames) this.receive(data);
    }
    ws.onclose = () => {
      if (this.socket !== ws || this.closed) return;
      this.socket = null;
      if (this.ended) {
        this.handlers.state("ended");
        return;
      }
      // Resume where the log stopped: 0.25 s, 0.5 s, 1 s … at most 5 s between tries.
      const delay = Math.min(5000, 250 * 2 ** this.attempts++);
      this.handlers.state("reconnecting");
      this.timer = setTimeout(() => this.open(), delay);
    };
  }

  private receive(data: unknown): void {
    let frame: Out<typeof ViewerFrame>;
    try {
      frame = ViewerFrame(JSON.parse(String(data)), "frame");
    } catch (err) {
      console.warn("log frame ignored:", err);
      return;
    }
    if (frame.type === "lines") this.handlers.lines(frame.lines);
    else {
      if (FINAL.has(frame.status)) this.ended = true;
      this.handlers.status(frame.status);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close(1000, "viewer left");
    this.socket = null;
  }
}

interface EarlySocket {
  buildId: string;
  ws: WebSocket;
  frames: unknown[];
}

/**
 * index.html opens a build page's log socket before the app has even loaded (the first line
 * shows sooner); the first stream of that build takes it over, with the frames it buffered.
 * A socket that already closed (signed out, say) is left, and a new one opened.
 */
function adoptEarlySocket(buildId: string): EarlySocket | undefined {
  const holder = globalThis as { __sparkiEarlyLog?: EarlySocket };
  const early = holder.__sparkiEarlyLog;
  delete holder.__sparkiEarlyLog;
  if (!early || early.buildId !== buildId || early.ws.readyState > WebSocket.OPEN) return undefined;
  return early;
}
