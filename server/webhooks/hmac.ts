/**
 * HMAC-SHA256 webhook signatures (`sha256=<hex>`) checked with Web Crypto and a comparison
 * whose time does not depend on where the digests differ.
 */
const encoder = new TextEncoder();

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** The HMAC-SHA256 of `body` under `secret`, as lowercase hex. */
export async function hmacSha256Hex(secret: string, body: Uint8Array): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), body));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of a hex string of even length (the caller has checked its characters). */
function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Compares two byte strings of the same length without stopping at the first difference. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Whether `signature` (`sha256=` and 64 hex digits, already checked) is the HMAC of `body`
 * under `secret`. With `secret` null (no such hook) the same work is done against a throwaway
 * key and the answer is false, so timing does not tell a missing hook from a wrong signature.
 */
export async function verifySha256Signature(secret: string | null, body: Uint8Array, signature: string): Promise<boolean> {
  const key = secret ?? crypto.randomUUID();
  const expected = hexBytes(await hmacSha256Hex(key, body));
  const given = hexBytes(signature.slice("sha256=".length).toLowerCase());
  return constantTimeEqual(expected, given) && secret !== null;
}
