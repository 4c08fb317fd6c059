import { describe, expect, it } from "vitest";
import { derivedList } from "./generate.ts";
import { commonPasswords } from "./common.ts";
import { isCommonPassword, minPasswordLength, parseCommonPasswords } from "./policy.ts";

describe("password policy", () => {
  it("knows the common passwords of at least the minimum length, in any case", () => {
    const list = parseCommonPasswords(commonPasswords);
    expect(isCommonPassword("password123", list)).toBe(true);
    expect(isCommonPassword("QWERTYUIOP", list)).toBe(true);
    expect(isCommonPassword("1q2w3e4r5t", list)).toBe(true);
    expect(isCommonPassword("correct horse battery staple", list)).toBe(false);
  });

  it("refuses a file that is not the list (the dashboard's page, an empty or cut file)", () => {
    expect(() => parseCommonPasswords("<!doctype html><html><body>Sparki</body></html>")).toThrow(/not the common-password list/);
    expect(() => parseCommonPasswords("")).toThrow(/not the common-password list/);
    expect(() => parseCommonPasswords(commonPasswords.split("\n").slice(0, 500).join("\n"))).toThrow(/not the common-password list/);
  });

  it("ships exactly the package's list, filtered to the minimum length", () => {
    const shipped = commonPasswords.split("\n");
    expect(shipped).toEqual(derivedList());
    expect(shipped.length).toBeGreaterThan(1000);
    expect(shipped.every((p) => p.length >= minPasswordLength)).toBe(true);
  });
});
