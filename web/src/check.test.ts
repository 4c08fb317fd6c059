import { describe, expect, it } from "vitest";
import { arr, literalTrue, nullable, num, obj, oneOf, optional, ShapeError, str, union } from "./check.ts";

describe("checks", () => {
  const Line = obj({ seq: num, text: str, partial: optional(literalTrue) });
  it("returns the very object when it has the shape, extra fields kept", () => {
    const line = { seq: 1, text: "x", extra: 1 };
    expect(Line(line, "line")).toBe(line);
  });

  it("says where the shape is wrong", () => {
    expect(() => Line({ seq: "1", text: "x" }, "line")).toThrow(new ShapeError("line.seq: expected a number, got string"));
    expect(() => arr(Line)([{ seq: 1, text: "x", partial: false }], "lines")).toThrow("lines[0].partial: expected true");
    expect(() => oneOf(["a", "b"] as const)("c", "s")).toThrow("s: expected one of a|b");
    expect(nullable(str)(null, "n")).toBeNull();
  });

  it("picks a union's case by its type", () => {
    const Frame = union<{ type: "a"; n: number } | { type: "b"; s: string }>({
      a: obj({ type: oneOf(["a"] as const), n: num }),
      b: obj({ type: oneOf(["b"] as const), s: str }),
    });
    expect(Frame({ type: "b", s: "x" }, "f")).toEqual({ type: "b", s: "x" });
    expect(() => Frame({ type: "c" }, "f")).toThrow("f.type: expected a|b");
  });
});
