/**
 * bench/logs' viewers, in a process of their own (the bench process hosts the embedded Postgres,
 * and its pauses must not count as delivery latency). Driven over IPC by run.ts:
 *   { connect: { url, headers, count, expect } } → opens `count` sockets, answers { connected }
 *   then answers { result } once every viewer received line `expect - 1` (or on { stop: true }).
 * Each `bench-line N WRITTEN …` line's latency is the time of receipt minus WRITTEN, kept in a
 * 1 ms histogram, so percentiles are exact to the millisecond without keeping 20 million samples.
 */
import WebSocket from "ws";
import type { ViewerFrame } from "../../core/contracts/logs.ts";

export interface ViewerResult {
  viewers: number;
  expected: number;
  /** Viewers that got every line exactly once, in order. */
  complete: number;
  lines: number;
  frames: number;
  duplicates: number;
  firstReceipt: number;
  lastReceipt: number;
  /** Latency histograms (index = ms, clipped at the end): written → received, and runner/producer stamp → received. */
  written: number[];
  stamped: number[];
}

const maxMs = 120_000;
type Connect = { url: string; headers: Record<string, string>; count: number; expect: number };

let sockets: WebSocket[] = [];
let state: ReturnType<typeof fresh> | null = null;

function fresh(expect: number, count: number) {
  return {
    expect,
    written: new Uint32Array(maxMs + 1),
    stamped: new Uint32Array(maxMs + 1),
    next: new Array<number>(count).fill(0),
    frames: 0,
    lines: 0,
    duplicates: 0,
    outOfOrder: new Array<boolean>(count).fill(false),
    firstReceipt: Infinity,
    lastReceipt: 0,
    finished: 0,
  };
}

function trim(h: Uint32Array): number[] {
  let end = h.length;
  while (end > 0 && h[end - 1] === 0) end--;
  return Array.from(h.subarray(0, end));
}

function report(): void {
  if (!state) return;
  const s = state;
  state = null;
  const result: ViewerResult = {
    viewers: sockets.length,
    expected: s.expect,
    complete: s.next.filter((n, i) => n === s.expect && !s.outOfOrder[i]).length,
    lines: s.lines,
    frames: s.frames,
    duplicates: s.duplicates,
    firstReceipt: s.firstReceipt,
    lastReceipt: s.lastReceipt,
    written: trim(s.written),
    stamped: trim(s.stamped),
  };
  for (const ws of sockets) ws.terminate();
  sockets = [];
  process.send?.({ result });
}

async function connect({ url, headers, count, expect }: Connect): Promise<void> {
  state = fresh(expect, count);
  const s = state;
  const opened = Array.from({ length: count }, (_, index) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    sockets.push(ws);
    ws.on("message", (data) => {
      const now = Date.now();
      const frame = JSON.parse(String(data)) as ViewerFrame;
      if (frame.type !== "lines") return;
      s.frames++;
      for (const line of frame.lines) {
        if (!line.text.startsWith("bench-line ")) continue;
        const space = line.text.indexOf(" ", 11);
        const n = Number(line.text.slice(11, space));
        const written = Number(line.text.slice(space + 1, line.text.indexOf(" ", space + 1)));
        if (n < s.next[index]!) {
          s.duplicates++;
          continue;
        }
        if (n !== s.next[index]) s.outOfOrder[index] = true;
        s.next[index] = n + 1;
        s.lines++;
        s.written[Math.max(0, Math.min(maxMs, now - written))]!++;
        s.stamped[Math.max(0, Math.min(maxMs, now - line.ts))]!++;
        if (now < s.firstReceipt) s.firstReceipt = now;
        s.lastReceipt = now;
        if (n === s.expect - 1 && ++s.finished === count) setImmediate(report);
      }
    });
    return new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) => reject(new Error(`viewer ${index}: HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  });
  try {
    await Promise.all(opened);
    process.send?.({ connected: count });
  } catch (err) {
    process.send?.({ error: err instanceof Error ? err.message : String(err) });
  }
}

process.on("message", (message: { connect?: Connect; stop?: true }) => {
  if (message.connect) void connect(message.connect);
  if (message.stop) report();
});
process.on("disconnect", () => process.exit(0));
