import type WebSocketType from "ws";
import { BUILD_FINISHED, type BuildStatus } from "../core/build/index.ts";
import { ViewerFrame, type ViewerLogLine } from "../core/contracts/logs.ts";
import { EXIT } from "./api.ts";
import { UserError } from "../node/user-error.ts";

export interface FollowOptions {
  /** ws(s)://host/v1/builds/ID/logs, without the query. */
  socketUrl: string;
  token: string;
  /** The first seq wanted (1 = from the start). */
  from?: number;
  /** Called with lines in seq order, each exactly once, across reconnects. */
  onLines(lines: ViewerLogLine[]): void;
  onStatus?(status: BuildStatus): void;
  /** Told before each reconnect (for a progress line). */
  onReconnect?(attempt: number, delayMs: number, reason: string): void;
  /** Consecutive failed connections before giving up (default 8). */
  maxAttempts?: number;
  /** Backoff base and cap in ms (full jitter). */
  backoff?: { baseMs: number; capMs: number };
  signal?: AbortSignal;
}

type Outcome = { kind: "finished"; status: BuildStatus } | { kind: "dropped"; reason: string; progressed: boolean };

/**
 * Follows a build's log over the viewer WebSocket until the build ends, and returns its final
 * status. After a dropped connection it reconnects with `?from=<last seq + 1>`, with full-jitter
 * backoff, so no line is missed or printed twice (lines at or below the last seq are dropped).
 */
export async function followLog(options: FollowOptions): Promise<BuildStatus> {
  let next = Math.max(1, options.from ?? 1);
  const max = options.maxAttempts ?? 8;
  const { baseMs, capMs } = options.backoff ?? { baseMs: 250, capMs: 5000 };
  let failures = 0;
  // Loaded here, not at startup: only the commands that follow a log need it.
  const { default: WebSocket } = await import("ws");
  for (;;) {
    if (options.signal?.aborted) throw new UserError("stopped", 130);
    const outcome = await connectOnce(WebSocket, options, next, (seq) => (next = seq + 1));
    if (outcome.kind === "finished") return outcome.status;
    if (options.signal?.aborted) throw new UserError("stopped", 130);
    failures = outcome.progressed ? 1 : failures + 1;
    if (failures > max) throw new UserError(`lost the log stream (${outcome.reason}); run 'sparki logs … --from ${next} -f' to resume`);
    const delay = Math.round(Math.random() * Math.min(capMs, baseMs * 2 ** (failures - 1)));
    options.onReconnect?.(failures, delay, outcome.reason);
    await new Promise((r) => setTimeout(r, delay));
  }
}

function connectOnce(WebSocket: typeof WebSocketType, options: FollowOptions, from: number, advanced: (seq: number) => void): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let next = from;
    let progressed = false;
    let settled = false;
    const ws = new WebSocket(`${options.socketUrl}?from=${from}`, { headers: { authorization: `Bearer ${options.token}` } });
    const finish = (outcome: Outcome | Error) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      ws.removeAllListeners();
      ws.on("error", () => undefined);
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = () => finish({ kind: "dropped", reason: "aborted", progressed: false });
    options.signal?.addEventListener("abort", onAbort);
    ws.on("unexpected-response", (_req, res) => {
      const code = res.statusCode ?? 0;
      res.resume();
      if (code === 401) finish(new UserError("the server refused the token (401); run 'sparki login'", EXIT.auth));
      else if (code === 404 || code === 403) finish(new UserError("no such build", EXIT.notFound));
      else finish({ kind: "dropped", reason: `the server answered ${code}`, progressed: false });
    });
    ws.on("error", (err) => finish({ kind: "dropped", reason: err.message, progressed }));
    ws.on("close", (code) => finish({ kind: "dropped", reason: `connection closed (${code})`, progressed }));
    ws.on("message", (data) => {
      let frame: ViewerFrame;
      try {
        frame = ViewerFrame.parse(JSON.parse(String(data)));
      } catch {
        return; // a frame this CLI does not know yet: newer server
      }
      if (frame.type === "status") {
        options.onStatus?.(frame.status);
        if (BUILD_FINISHED.has(frame.status)) finish({ kind: "finished", status: frame.status });
        return;
      }
      const fresh: ViewerLogLine[] = [];
      for (const line of frame.lines) {
        if (line.seq < next) continue; // replayed after a reconnect: already printed
        if (line.seq > next) {
          // A gap should not happen; ask again from the first missing line rather than skip it.
          if (fresh.length) options.onLines(fresh);
          finish({ kind: "dropped", reason: `gap before line ${line.seq}`, progressed: true });
          return;
        }
        fresh.push(line);
        next = line.seq + 1;
        advanced(line.seq);
        progressed = true;
      }
      if (fresh.length) options.onLines(fresh);
    });
  });
}

/** The bytes a line stands for: its text, and a newline unless the line is partial. */
export function lineText(line: Pick<ViewerLogLine, "text" | "partial">): string {
  return line.partial ? line.text : `${line.text}\n`;
}
