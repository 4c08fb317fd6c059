import { describe, expect, it } from "vitest";
import type { LogLine, RunnerLogFrame } from "../contracts/runner.ts";
import { RunnerLogFrame as FrameSchema } from "../contracts/runner.ts";
import { acceptFrame, LogOutbox } from "./sequence.ts";

const LIMITS = { maxLines: 3, maxBytes: 1000, windowBytes: 10_000 };
const lines = (...texts: string[]) => texts.map((text) => ({ text }));

function frameOrFail(outbox: LogOutbox, limits = LIMITS): Extract<RunnerLogFrame, { type: "lines" }> {
  const frame = outbox.nextFrame(limits);
  if (!frame) throw new Error("expected a frame");
  return frame;
}

describe("log outbox and server acceptance", () => {
  it("numbers lines from 1 and batches them into valid frames", () => {
    const outbox = new LogOutbox();
    outbox.append("build", 5, lines("a", "b", "c", "d"));
    const first = frameOrFail(outbox);
    expect(first.fromSeq).toBe(1);
    expect(first.lines.map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(FrameSchema.safeParse(first).success).toBe(true);
    expect(frameOrFail(outbox).lines.map((l) => l.text)).toEqual(["d"]);
    expect(outbox.nextFrame(LIMITS)).toBeNull();
  });

  it("forgets acknowledged lines and is drained once everything is acked", () => {
    const outbox = new LogOutbox();
    outbox.append("s", 0, lines("a", "b"));
    frameOrFail(outbox);
    outbox.receive({ type: "ack", seq: 1 });
    expect(outbox.drained).toBe(false);
    expect(outbox.bytes).toBe(1);
    outbox.receive({ type: "ack", seq: 2 });
    expect(outbox.drained).toBe(true);
    expect(outbox.acked).toBe(2);
  });

  it("keeps its place through thousands of acks and a resume after the held lines were compacted", () => {
    const outbox = new LogOutbox();
    const limits = { maxLines: 100, maxBytes: 100_000, windowBytes: 1_000_000 };
    outbox.append("s", 0, lines(...Array.from({ length: 5000 }, (_, i) => `line ${i + 1}`)));
    // Send 30 frames and ack 25 of them one by one: past the compaction point, with 500 in flight.
    for (let i = 0; i < 30; i++) frameOrFail(outbox, limits);
    for (let seq = 100; seq <= 2500; seq += 100) outbox.receive({ type: "ack", seq });
    expect(outbox.acked).toBe(2500);
    expect(frameOrFail(outbox, limits).fromSeq).toBe(3001);
    // The connection drops: the server holds up to 2700, so sending resumes at 2701.
    outbox.receive({ type: "resume", seq: 2700 });
    const resent = frameOrFail(outbox, limits);
    expect(resent.lines.map((l) => l.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 2701 + i));
    expect(resent.lines[0]?.text).toBe("line 2701");
    outbox.receive({ type: "ack", seq: 5000 });
    expect(outbox.drained).toBe(true);
    expect(outbox.bytes).toBe(0);
    expect(outbox.nextFrame(limits)).toBeNull();
  });

  it("resends exactly the unacknowledged lines after resume; the server drops duplicates", () => {
    const outbox = new LogOutbox();
    outbox.append("s", 0, lines("1", "2", "3", "4", "5", "6"));
    let held = 0;
    const stored: LogLine[] = [];
    // First connection: frame 1 arrives, frame 2 is lost with the socket, no ack reached the runner.
    const f1 = frameOrFail(outbox);
    const r1 = acceptFrame(held, f1);
    held = r1.held;
    stored.push(...r1.accepted);
    frameOrFail(outbox);
    outbox.rewind();
    // Reconnect: the server says it holds 3.
    outbox.receive({ type: "resume", seq: held });
    for (let frame = outbox.nextFrame(LIMITS); frame; frame = outbox.nextFrame(LIMITS)) {
      if (frame.type !== "lines") continue;
      const r = acceptFrame(held, frame);
      held = r.held;
      stored.push(...r.accepted);
      outbox.receive(r.reply);
    }
    expect(stored.map((l) => l.text)).toEqual(["1", "2", "3", "4", "5", "6"]);
    expect(outbox.drained).toBe(true);
  });

  it("the server drops a resent frame and refuses a frame that leaves a gap", () => {
    const outbox = new LogOutbox();
    outbox.append("s", 0, lines("a", "b", "c", "d", "e", "f"));
    const f1 = frameOrFail(outbox);
    const f2 = frameOrFail(outbox);
    expect(acceptFrame(3, f1)).toEqual({ held: 3, accepted: [], reply: { type: "ack", seq: 3 } });
    expect(acceptFrame(0, f2)).toEqual({ held: 0, accepted: [], reply: { type: "resume", seq: 0 } });
    const overlap = acceptFrame(2, { type: "lines", fromSeq: 1, lines: [...f1.lines, ...f2.lines] });
    expect(overlap.accepted.map((l) => l.seq)).toEqual([3, 4, 5, 6]);
    expect(overlap.reply).toEqual({ type: "ack", seq: 6 });
  });

  it("stops sending when the window of unacknowledged bytes is full", () => {
    const outbox = new LogOutbox();
    outbox.append("s", 0, lines("xxxx", "yyyy", "zzzz"));
    const small = { maxLines: 1, maxBytes: 100, windowBytes: 8 };
    frameOrFail(outbox, small);
    frameOrFail(outbox, small);
    expect(outbox.nextFrame(small)).toBeNull();
    outbox.receive({ type: "ack", seq: 1 });
    expect(frameOrFail(outbox, small).fromSeq).toBe(3);
  });

  it("keeps the partial flag on lines that had no newline", () => {
    const outbox = new LogOutbox();
    const [line] = outbox.append("s", 9, [{ text: "prompt> ", partial: true }]);
    expect(line).toEqual({ seq: 1, step: "s", ts: 9, text: "prompt> ", partial: true });
  });
});
