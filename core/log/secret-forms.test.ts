import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { base64Core, secretForms } from "./secret-forms.ts";

const enc = new TextEncoder();

describe("secret forms", () => {
  it("finds the secret's base64 inside any longer base64 string, at every alignment", () => {
    const secret = "s3cr3t-V@lue/+?";
    for (let before = 0; before < 7; before++) {
      for (let after = 0; after < 4; after++) {
        const text = "x".repeat(before) + secret + "\n".repeat(after);
        const std = Buffer.from(text).toString("base64");
        const url = Buffer.from(text).toString("base64url");
        const forms = secretForms(secret);
        expect(
          forms.some((f) => f !== secret && std.includes(f)),
          `std ${before}/${after}`,
        ).toBe(true);
        expect(
          forms.some((f) => f !== secret && url.includes(f)),
          `url ${before}/${after}`,
        ).toBe(true);
      }
    }
  });

  it("keeps only the characters the secret alone decides", () => {
    // "abcd" at shift 0: YWJj + the first char of the next group (6 bits of "d").
    expect(base64Core(enc.encode("abcd"), 0)).toBe("YWJjZ");
    expect(Buffer.from("abcd").toString("base64")).toBe("YWJjZA==");
    expect(
      Buffer.from("Xabcd")
        .toString("base64")
        .includes(base64Core(enc.encode("abcd"), 1)),
    ).toBe(true);
    expect(
      Buffer.from("XXabcd!")
        .toString("base64")
        .includes(base64Core(enc.encode("abcd"), 2)),
    ).toBe(true);
  });

  it("includes the URL-encoded and JSON-escaped forms", () => {
    const secret = 'p a"ss\\wörd&=';
    const forms = secretForms(secret);
    expect(forms).toContain(encodeURIComponent(secret));
    expect(forms).toContain(encodeURIComponent(secret).replaceAll("%20", "+"));
    expect(forms).toContain(JSON.stringify(secret).slice(1, -1));
    expect(forms[0]).toBe(secret);
  });

  it("adds nothing for an empty value and no duplicates for a plain one", () => {
    expect(secretForms("")).toEqual([]);
    const forms = secretForms("plainvalue");
    expect(new Set(forms).size).toBe(forms.length);
  });
});
