import { describe, expect, it } from "vitest";
import { derivedList } from "./generate.ts";
import { commonPasswords } from "./common.ts";
import { isCommonPassword, minPasswordLength } from "./policy.ts";

describe("password policy", () => {
  it("knows the common passwords of at least the minimum length, in any case", () => {
    expect(isCommonPassword("password123")).toBe(true);
    expect(isCommonPassword("QWERTYUIOP")).toBe(true);
    expect(isCommonPassword("1q2w3e4r5t")).toBe(true);
    expect(isCommonPassword("correct horse battery staple")).toBe(false);
  });

  it("ships exactly the package's list, filtered to the minimum length", () => {
    const shipped = commonPasswords.split("\n");
    expect(shipped).toEqual(derivedList());
    expect(shipped.length).toBeGreaterThan(1000);
    expect(shipped.every((p) => p.length >= minPasswordLength)).toBe(true);
  });
});
