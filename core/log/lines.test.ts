import { describe, expect, it } from "vitest";
import { flushLines, initialLineState, joinLines, safeCut, splitLines, type FramedLine } from "./lines.ts";

const enc = new TextEncoder();

function frame(chunks: string[], max = 1024): FramedLine[] {
  let state = initialLineState;
  const lines: FramedLine[] = [];
  for (const chunk of chunks) {
    const step = splitLines(state, enc.encode(chunk), max);
    state = step.state;
    lines.push(...step.lines);
  }
  return [...lines, ...flushLines(state)];
}

describe("line framing", () => {
  it("splits on newlines across chunks and keeps ANSI colours and carriage returns", () => {
    const lines = frame(["\u001b[32mgreen\u001b[0m\nhalf", " line\r\n", "progress 1\rprogress 2\n"]);
    expect(lines).toEqual([{ text: "\u001b[32mgreen\u001b[0m" }, { text: "half line\r" }, { text: "progress 1\rprogress 2" }]);
  });

  it("marks output that ends without a newline as partial, so the bytes rebuild exactly", () => {
    const text = "one\n\ntwo\nno newline at end";
    const lines = frame([text.slice(0, 5), text.slice(5)]);
    expect(lines.at(-1)).toEqual({ text: "no newline at end", partial: true });
    expect(joinLines(lines)).toBe(text);
  });

  it("keeps multi-byte characters split across chunks whole", () => {
    const bytes = enc.encode("héllo wörld ✓\n");
    let state = initialLineState;
    const lines: FramedLine[] = [];
    for (const b of bytes) {
      const step = splitLines(state, Uint8Array.of(b), 1024);
      state = step.state;
      lines.push(...step.lines);
    }
    expect(lines).toEqual([{ text: "héllo wörld ✓" }]);
  });

  it("cuts an over-long line without splitting a character or a colour escape", () => {
    const long = `${"x".repeat(9)}\u001b[31m${"é".repeat(10)}\n`;
    const lines = frame([long], 12);
    expect(lines.every((l) => enc.encode(l.text).length <= 12)).toBe(true);
    expect(lines[0]).toEqual({ text: "x".repeat(9), partial: true });
    expect(lines[1]?.text.startsWith("\u001b[31m")).toBe(true);
    expect(lines.at(-1)?.partial).toBeUndefined();
    expect(joinLines(lines)).toBe(long);
  });

  it("frames a chunk of many lines the same whether or not one of them is over-long", () => {
    const short = Array.from({ length: 50 }, (_, i) => `line ${i} ✓`).join("\n");
    const chunk = `${short}\n${"z".repeat(30)}\n${short}\ntail`;
    const lines = frame([chunk], 16);
    expect(lines.filter((l) => l.text.startsWith("z")).map((l) => l.text.length)).toEqual([16, 14]);
    expect(lines.filter((l) => l.text.startsWith("line ")).length).toBe(100);
    expect(joinLines(lines)).toBe(chunk);
    expect(frame([`${short}\n`], 16)).toEqual(short.split("\n").map((text) => ({ text })));
  });

  it("safeCut backs up to the start of a UTF-8 character", () => {
    const bytes = enc.encode("ab✓cd"); // ✓ is 3 bytes at offsets 2..4
    expect(safeCut(bytes, 3)).toBe(2);
    expect(safeCut(bytes, 5)).toBe(5);
  });

  it("bounds memory for endless output without newlines", () => {
    let state = initialLineState;
    let count = 0;
    for (let i = 0; i < 100; i++) {
      const step = splitLines(state, enc.encode("y".repeat(1000)), 4096);
      state = step.state;
      count += step.lines.length;
    }
    expect(count).toBe(24);
    expect(state.pending.length).toBeLessThanOrEqual(4096);
  });
});
