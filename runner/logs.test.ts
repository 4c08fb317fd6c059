import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import type { LogLine, RunnerLogFrame, ServerLogFrame } from "../core/contracts/runner.ts";
import { joinLines } from "../core/log/lines.ts";
import { createMasker } from "../core/log/mask.ts";
import { acceptFrame } from "../core/log/sequence.ts";
import { until } from "../test/until.ts";
import { LogStream, type LogStreamOptions } from "./logs.ts";

/** A log socket server that keeps what it accepts, and counts the frames it got. */
class LogServer {
  readonly wss: WebSocketServer;
  readonly frames: RunnerLogFrame[] = [];
  readonly log: LogLine[] = [];
  held = 0;
  connections = 0;
  /** Terminate the connection (without an ack) when a frame arrives, this many times. */
  cuts = 0;
  /** Sent on every connection right after its `resume`. */
  greeting: ServerLogFrame[] = [];

  constructor() {
    this.wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    this.wss.on("connection", (ws: WebSocket) => {
      this.connections++;
      const reply = (frame: ServerLogFrame) => ws.send(JSON.stringify(frame));
      reply({ type: "resume", seq: this.held });
      for (const frame of this.greeting) reply(frame);
      // ws may still emit frames it had read before the cut; a dropped connection would not.
      let cut = false;
      ws.on("message", (data) => {
        if (cut) return;
        const frame = JSON.parse(String(data)) as RunnerLogFrame;
        this.frames.push(frame);
        const result = acceptFrame(this.held, frame);
        this.held = result.held;
        this.log.push(...result.accepted);
        if (this.cuts > 0) {
          this.cuts--;
          cut = true;
          return ws.terminate();
        }
        reply(result.reply);
      });
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  /** Sends a frame on every open connection. */
  tell(frame: ServerLogFrame): void {
    for (const ws of this.wss.clients) ws.send(JSON.stringify(frame));
  }

  close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}

let server: LogServer;
const said: string[] = [];

beforeEach(async () => {
  server = new LogServer();
  await new Promise((resolve) => server.wss.once("listening", resolve));
  said.length = 0;
});

afterEach(() => server.close());

function stream(options: Partial<LogStreamOptions> = {}): LogStream {
  const logs = new LogStream({
    url: server.url,
    headers: {},
    masker: createMasker([]),
    say: (m) => said.push(m),
    backoff: { baseMs: 10, capMs: 50 },
    ...options,
  });
  logs.start();
  return logs;
}

const line = (i: number) => Buffer.from(`line ${i}\n`);

describe("LogStream close", () => {
  it("leaves no timer behind once its lines are acknowledged before the drain timeout", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const logs = stream();
    await until("the log socket to connect", () => server.connections === 1);
    const out = logs.sink("build");
    out.write(line(0));
    out.end();
    // Closed while the line is still unacknowledged, so close waits for the ack or 60 s.
    expect(await logs.close(60_000)).toBe(true);
    expect(joinLines(server.log)).toBe("line 0\n");
    // A 60 s timer left here kept an ephemeral runner alive a minute after its job.
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

describe("LogStream frame coalescing", () => {
  it("sends the first line at once and what follows in a few frames, not a frame per write", async () => {
    const logs = stream({ frameIntervalMs: 20 });
    await until("the log socket to connect", () => server.connections === 1);
    const out = logs.sink("build");
    out.write(line(0));
    await until("the server to hold 1 line", () => server.log.length === 1);
    // 400 writes in 20 bursts with a pause between: however long the pauses take on a loaded
    // machine, a burst is at most two frames (its first line at once, the rest at the next slot).
    const bursts = 20;
    for (let i = 1; i <= 400; i++) {
      out.write(line(i));
      if (i % (400 / bursts) === 0) await new Promise((r) => setTimeout(r, 4));
    }
    out.end();
    expect(await logs.close(5000)).toBe(true);
    expect(joinLines(server.log)).toBe(Array.from({ length: 401 }, (_, i) => `line ${i}\n`).join(""));
    expect(server.frames.length).toBeGreaterThanOrEqual(2);
    expect(server.frames.length).toBeLessThanOrEqual(1 + 2 * bursts);
  });

  it("paces frames slowly while nobody watches, and sends what it holds once someone does", async () => {
    server.greeting = [{ type: "watch", watched: false }];
    const logs = stream({ frameIntervalMs: 5, unwatchedFrameIntervalMs: 60_000 });
    await until("the log socket to connect", () => server.connections === 1);
    const out = logs.sink("build");
    out.write(line(1));
    await until("the server to hold 1 line", () => server.log.length === 1);
    // Unwatched: the next line waits for a frame slot a minute away.
    out.write(line(2));
    await new Promise((r) => setTimeout(r, 200));
    expect(server.log.length).toBe(1);
    server.tell({ type: "watch", watched: true });
    await until("the server to hold 2 lines", () => server.log.length === 2, 1000);
    for (let i = 3; i <= 5; i++) out.write(line(i));
    await until("the server to hold 5 lines", () => server.log.length === 5, 1000);
    out.end();
    expect(await logs.close(1000)).toBe(true);
    expect(joinLines(server.log)).toBe("line 1\nline 2\nline 3\nline 4\nline 5\n");
  });

  it("never holds full frames back for a frame slot: pacing slows trickles, not bursts", async () => {
    const logs = stream({ frameIntervalMs: 60_000, limits: { maxBytes: 1000, windowBytes: 4000 } });
    await until("the log socket to connect", () => server.connections === 1);
    const out = logs.sink("build");
    out.write(line(0));
    await until("the server to hold 1 line", () => server.log.length === 1);
    // 2,000 lines, about 18 KB: many full frames, four times the window, with no slot in a minute.
    out.write(Buffer.from(Array.from({ length: 2000 }, (_, i) => `line ${i + 1}\n`).join("")));
    await until("the server to hold at least 1900 lines", () => server.log.length >= 1900, 2000);
    expect(server.frames.length).toBeGreaterThan(10);
    out.end();
    expect(await logs.close(1000)).toBe(true);
    expect(server.log.length).toBe(2001);
  });

  it("a step's end sends its last lines without waiting for the next frame slot", async () => {
    const logs = stream({ frameIntervalMs: 60_000 });
    await until("the log socket to connect", () => server.connections === 1);
    const out = logs.sink("build");
    out.write(line(1));
    await until("the server to hold 1 line", () => server.log.length === 1);
    out.write(line(2));
    out.write(Buffer.from("no newline"));
    out.end();
    await until("the server to hold 3 lines", () => server.log.length === 3, 1000);
    expect(joinLines(server.log)).toBe("line 1\nline 2\nno newline");
    expect(await logs.close(1000)).toBe(true);
  });

  it("close sends what is waiting for a frame slot, and waits for its ack", async () => {
    const logs = stream({ frameIntervalMs: 60_000 });
    await until("the log socket to connect", () => server.connections === 1);
    const note = logs.sink("sparki:runner");
    note.note("first");
    await until("the server to hold 1 line", () => server.log.length === 1);
    note.note("second");
    note.note("third");
    // From here no timer fires (the frame slot is a minute away, close's own bound never runs
    // out): close can only end by sending the held lines at once and getting their ack.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let closed: boolean | undefined;
      void logs.close(5000).then((v) => (closed = v));
      await until("close to end without waiting for a timer", () => closed !== undefined);
      expect(closed).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    expect(server.log.map((l) => l.text)).toEqual(["first", "second", "third"]);
  });

  it("loses and doubles nothing when the socket is cut while frames are being coalesced", async () => {
    server.cuts = 3;
    const logs = stream({ frameIntervalMs: 5 });
    const out = logs.sink("build");
    const expected: string[] = [];
    for (let i = 0; i < 3000; i++) {
      out.write(line(i));
      expected.push(`line ${i}\n`);
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    out.end();
    expect(await logs.close(10_000)).toBe(true);
    expect(server.cuts).toBe(0);
    expect(server.connections).toBe(4);
    expect(server.log.map((l) => l.seq)).toEqual(server.log.map((_, i) => i + 1));
    expect(joinLines(server.log)).toBe(expected.join(""));
  });

  it("keeps write order across the job's sinks: output, runner notes and a step's last partial line", async () => {
    const logs = stream();
    const step = logs.sink("build");
    const runner = logs.sink("sparki:runner");
    step.write(Buffer.from("a1\na"));
    runner.note("n1");
    step.write(Buffer.from("2"));
    step.end();
    runner.note("n2");
    expect(await logs.close(5000)).toBe(true);
    expect(server.log.map((l) => `${l.step}:${l.text}${l.partial ? "…" : ""}`)).toEqual(["build:a1", "sparki:runner:n1", "build:a2…", "sparki:runner:n2"]);
  });

  it("pauses a producer above the high-water mark and wakes it once acknowledged", async () => {
    const logs = stream({ highWaterBytes: 4096 });
    const out = logs.sink("build");
    expect(out.write(Buffer.from(`${"x".repeat(1000)}\n`))).toBe(true);
    expect(out.write(Buffer.from(`${"y".repeat(4000)}\n`))).toBe(false);
    const woken = new Promise<void>((resolve) => out.onDrain(resolve));
    await woken;
    out.end();
    expect(await logs.close(5000)).toBe(true);
    expect(server.log.map((l) => l.text.length)).toEqual([1000, 4000]);
  });
});
