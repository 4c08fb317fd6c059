import { describe, expect, it } from "vitest";
import { LogStore } from "./store.ts";

const line = (seq: number, text: string, extra: { jobId?: string; step?: string; partial?: true } = {}) => ({
  seq,
  jobId: extra.jobId ?? "b.1",
  step: extra.step ?? "build",
  ts: seq,
  text,
  ...(extra.partial ? { partial: true as const } : {}),
});

describe("LogStore", () => {
  it("keeps lines in order, skips replayed seqs, and remembers where each step starts", () => {
    const store = new LogStore();
    store.append([line(1, "a", { step: "install" }), line(2, "b", { step: "install" }), line(3, "c")]);
    store.append([line(2, "b"), line(3, "c"), line(4, "d")]);
    expect(store.texts).toEqual(["a", "b", "c", "d"]);
    expect(store.lastSeq).toBe(4);
    expect(store.firstLineOf("b.1", "build")).toBe(2);
    expect(store.stepAt(1)?.step).toBe("install");
  });

  it("finishes a partial line with its job's next line, even with another job in between", () => {
    const store = new LogStore();
    store.append([line(1, "50", { partial: true }), line(2, "other", { jobId: "b.2" }), line(3, "%")]);
    expect(store.texts).toEqual(["50%", "other"]);
  });

  it("finds text forwards and backwards, wrapping round, ignoring colours and case", () => {
    const store = new LogStore();
    store.append([line(1, "one"), line(2, "\x1b[31mTwo\x1b[0m"), line(3, "three"), line(4, "two again")]);
    expect(store.find("two", -1)).toBe(1);
    expect(store.find("two", 1)).toBe(3);
    expect(store.find("two", 3)).toBe(1);
    expect(store.find("two", 1, true)).toBe(3);
    expect(store.find("nope", 0)).toBe(-1);
  });

  it("holds a million lines", () => {
    const store = new LogStore();
    for (let b = 0; b < 1000; b++) store.append(Array.from({ length: 1000 }, (_, i) => line(b * 1000 + i + 1, `line ${b * 1000 + i + 1}`)));
    expect(store.length).toBe(1_000_000);
    expect(store.find("line 999999", 0)).toBe(999_998);
  });
});

describe("LogStore.find", () => {
  it("treats the query as text, not a pattern", () => {
    const store = new LogStore();
    store.append([
      { seq: 1, jobId: "j", step: "s", ts: 1, text: "a.b (c)" },
      { seq: 2, jobId: "j", step: "s", ts: 2, text: "axb c" },
    ]);
    expect(store.find("a.b (c", -1)).toBe(0);
    expect(store.find("A.B", 0)).toBe(0);
  });
});
