/**
 * An HMAC-SHA256 key for one purpose, derived from a shared secret (JWT_SECRET) and the purpose's
 * label, so a token signed for one purpose never verifies for another. Memoised per isolate.
 */
const keys = new Map<string, Promise<CryptoKey>>();

export function derivedHmacKey(secret: string, label: string): Promise<CryptoKey> {
  const memo = `${label}\0${secret}`;
  let key = keys.get(memo);
  if (!key) {
    key = (async () => {
      const enc = new TextEncoder();
      const master = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const derived = await crypto.subtle.sign("HMAC", master, enc.encode(label));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    })();
    keys.set(memo, key);
  }
  return key;
}
