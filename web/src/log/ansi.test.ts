import { describe, expect, it } from "vitest";
import { parseAnsi, plainText } from "./ansi.ts";

describe("parseAnsi", () => {
  it("keeps a plain line whole", () => {
    expect(parseAnsi("hello")).toEqual([{ text: "hello", cls: "" }]);
  });

  it("turns the 16 colours and attributes into classes, and resets", () => {
    expect(parseAnsi("\x1b[33ma warning\x1b[0m done")).toEqual([
      { text: "a warning", cls: "fg3" },
      { text: " done", cls: "" },
    ]);
    expect(parseAnsi("\x1b[1;91mERR\x1b[22m x")).toEqual([
      { text: "ERR", cls: "b fg9" },
      { text: " x", cls: "fg9" },
    ]);
    expect(parseAnsi("\x1b[42;30mok\x1b[49m")).toEqual([{ text: "ok", cls: "fg0 bg2" }]);
  });

  it("gives 256-colour and true-colour codes inline colours", () => {
    expect(parseAnsi("\x1b[38;5;196mred\x1b[48;2;1;2;3mon")).toEqual([
      { text: "red", cls: "", fg: "rgb(255,0,0)" },
      { text: "on", cls: "", fg: "rgb(255,0,0)", bg: "rgb(1,2,3)" },
    ]);
    expect(parseAnsi("\x1b[38;5;9mbright")).toEqual([{ text: "bright", cls: "fg9" }]);
  });

  it("drops other escape sequences and keeps what follows a carriage return", () => {
    expect(parseAnsi("\x1b]0;title\x07\x1b[2Kline")).toEqual([{ text: "line", cls: "" }]);
    expect(plainText("10%\r50%\r\x1b[32m100%\x1b[0m")).toBe("100%");
    expect(plainText("progress\r")).toBe("progress");
  });
});
