import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { secretForms } from "./secret-forms.ts";
import { createMasker, initialMaskState, maskChunk, maskFlush, maskText, type Masker } from "./mask.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds `text` cut at the given byte offsets and returns everything emitted. */
function maskInChunks(masker: Masker, text: string, cuts: number[]): string {
  const bytes = enc.encode(text);
  const out: Uint8Array[] = [];
  let state = initialMaskState;
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    const step = maskChunk(masker, state, bytes.subarray(from, cut));
    state = step.state;
    out.push(step.output);
    from = cut;
  }
  out.push(maskFlush(masker, state));
  return out.map((b) => dec.decode(b)).join("");
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("secret masking", () => {
  const masker = createMasker(["hunter2-secret", "tok_ABC"]);

  it("masks a secret inside one chunk", () => {
    expect(maskInChunks(masker, "password is hunter2-secret!\n", [])).toBe("password is ***!\n");
  });

  it("masks a secret split across two chunks at every possible point", () => {
    const text = "before hunter2-secret after";
    for (let cut = 0; cut <= text.length; cut++) {
      expect(maskInChunks(masker, text, [cut])).toBe("before *** after");
    }
  });

  it("masks a secret spread over many one-byte chunks", () => {
    const text = "x tok_ABC y hunter2-secret z";
    const cuts = Array.from({ length: text.length }, (_, i) => i);
    expect(maskInChunks(masker, text, cuts)).toBe("x *** y *** z");
  });

  it("holds back exactly the longest form's length − 1 bytes, so no prefix leaves early", () => {
    // The longest form of these secrets is hunter2-secret's base64 (18 characters).
    const longest = Math.max(...["hunter2-secret", "tok_ABC"].flatMap(secretForms).map((f) => f.length));
    expect(masker.carryBytes).toBe(longest - 1);
    const text = "a longer log line hunter2-se";
    const first = maskChunk(masker, initialMaskState, enc.encode(text));
    expect(dec.decode(first.output)).toBe(text.slice(0, text.length - masker.carryBytes));
    const second = maskChunk(masker, first.state, enc.encode("cret done"));
    expect(dec.decode(first.output) + dec.decode(second.output) + dec.decode(maskFlush(masker, second.state))).toBe("a longer log line *** done");
  });

  it("prefers the longest secret when one contains another", () => {
    const m = createMasker(["abc", "abcdef"]);
    expect(maskInChunks(m, "xabcdefx abcx", [3])).toBe("x***x ***x");
  });

  it("masks multi-line and multi-byte secrets", () => {
    const m = createMasker(["-----BEGIN KEY-----\nMIIE\n-----END KEY-----", "pässwörd✓"]);
    expect(maskInChunks(m, "k=-----BEGIN KEY-----\nMIIE\n-----END KEY-----\np=pässwörd✓\n", [10, 30, 50])).toBe("k=***\np=***\n");
  });

  it("passes everything through without secrets, and ignores empty ones", () => {
    const m = createMasker(["", ""]);
    expect(m.carryBytes).toBe(0);
    expect(maskInChunks(m, "nothing secret", [3, 7])).toBe("nothing secret");
  });

  it("matches a plain replaceAll on random text and random chunking", () => {
    const secrets = ["s3cr3t", "pa55", "LONG-SECRET-VALUE-0123456789"];
    const m = createMasker(secrets);
    const random = rng(42);
    const words = ["a", "bb", " ", "\n", "\u001b[31m", "s3c", "pa5", ...secrets];
    for (let round = 0; round < 200; round++) {
      let text = "";
      for (let i = 0; i < 60; i++) text += words[Math.floor(random() * words.length)];
      const bytes = enc.encode(text).length;
      const cuts = Array.from({ length: Math.floor(random() * 8) }, () => Math.floor(random() * bytes)).sort((a, b) => a - b);
      const expected = secrets
        .slice()
        .sort((a, b) => b.length - a.length)
        .reduce((t, s) => t.replaceAll(s, "\u0000"), text)
        .replaceAll("\u0000", "***");
      expect(maskInChunks(m, text, cuts)).toBe(expected);
    }
  });

  it("masks whole strings for a second pass", () => {
    expect(maskText(masker, "a tok_ABC b")).toBe("a *** b");
  });
});

describe("masking the encoded forms of a secret", () => {
  const secret = "ghp_Sup3rS3cret/Value+42";
  const masker = createMasker([secret]);
  const b64 = (s: string, url = false) => Buffer.from(s).toString(url ? "base64url" : "base64");

  it("masks base64 (standard and URL-safe, at any offset), URL-encoded and JSON-escaped forms", () => {
    const printed = [
      b64(secret),
      b64(`${secret}\n`),
      b64(`token=${secret}`),
      b64(`ab${secret}cd`, true),
      b64(JSON.stringify({ auth: secret })),
      encodeURIComponent(`x ${secret} y`),
      JSON.stringify({ v: `"${secret}"` }),
    ];
    for (const line of printed) {
      const out = maskInChunks(masker, `${line}\n`, [5, 17]);
      expect(out, line).toContain("***");
      for (const form of [secret, b64(secret).slice(4, 24), encodeURIComponent(secret)]) expect(out).not.toContain(form);
    }
    expect(maskText(masker, `curl -d token=${encodeURIComponent(secret)}`)).toBe("curl -d token=***");
  });

  it("leaves text without any form of the secret untouched", () => {
    expect(maskText(masker, "nothing to see aGVsbG8=")).toBe("nothing to see aGVsbG8=");
  });
});
