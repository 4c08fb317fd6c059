import { expect, it } from "vitest";
import { decryptSecret, encryptSecret } from "./crypto.js";

const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
const other = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

it("round-trips, with a fresh IV each time", async () => {
  const a = await encryptSecret(key, "p1", "TOKEN", "s3cr3t ✓");
  const b = await encryptSecret(key, "p1", "TOKEN", "s3cr3t ✓");
  expect(a).not.toBe(b);
  expect(a).not.toContain("s3cr3t");
  expect(await decryptSecret(key, "p1", "TOKEN", a)).toBe("s3cr3t ✓");
});

it("refuses another key, another project, another name, or a tampered value", async () => {
  const sealed = await encryptSecret(key, "p1", "TOKEN", "value");
  await expect(decryptSecret(other, "p1", "TOKEN", sealed)).rejects.toThrow();
  await expect(decryptSecret(key, "p2", "TOKEN", sealed)).rejects.toThrow();
  await expect(decryptSecret(key, "p1", "OTHER", sealed)).rejects.toThrow();
  const bytes = Uint8Array.from(atob(sealed), (c) => c.charCodeAt(0));
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
  await expect(decryptSecret(key, "p1", "TOKEN", btoa(String.fromCharCode(...bytes)))).rejects.toThrow();
});

it("rejects a key of the wrong size", async () => {
  await expect(encryptSecret(btoa("short"), "p", "n", "v")).rejects.toThrow(/32 bytes/);
});
