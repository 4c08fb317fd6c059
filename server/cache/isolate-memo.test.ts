import { expect, it } from "vitest";
import { IsolateMemo } from "./isolate-memo.js";

it("answers fresh entries, including known absences, and forgets stale ones", () => {
  const memo = new IsolateMemo(2000);
  memo.set("a", "1", 1000);
  memo.set("gone", null, 1000);
  expect(memo.get("a", 2999)).toBe("1");
  expect(memo.get("gone", 2999)).toBeNull();
  expect(memo.get("a", 3000)).toBeUndefined();
  expect(memo.get("never", 1000)).toBeUndefined();
});

it("evicts the oldest entry past its capacity", () => {
  const memo = new IsolateMemo(10_000, 2);
  memo.set("a", "1", 0);
  memo.set("b", "2", 0);
  memo.set("a", "1b", 1);
  memo.set("c", "3", 2);
  expect(memo.get("b", 3)).toBeUndefined();
  expect(memo.get("a", 3)).toBe("1b");
  expect(memo.get("c", 3)).toBe("3");
});

it("stores nothing when turned off", () => {
  const memo = new IsolateMemo(0);
  memo.set("a", "1", 0);
  expect(memo.get("a", 0)).toBeUndefined();
});
