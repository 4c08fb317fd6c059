/**
 * Secret values at rest: AES-256-GCM under SECRETS_KEY (32 bytes, base64), a fresh 96-bit IV
 * per value, stored as base64(iv ‖ ciphertext+tag). The additional data binds a ciphertext to
 * its project and name, so a value copied onto another secret fails to decrypt.
 */
const keys = new Map<string, Promise<CryptoKey>>();

function keyOf(base64Key: string): Promise<CryptoKey> {
  let key = keys.get(base64Key);
  if (!key) {
    const raw = Uint8Array.from(atob(base64Key), (c) => c.charCodeAt(0));
    if (raw.length !== 32) throw new Error("SECRETS_KEY must be 32 bytes, base64-encoded");
    key = crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    keys.set(base64Key, key);
  }
  return key;
}

const encoder = new TextEncoder();
const aadOf = (projectId: string, name: string) => encoder.encode(`sparki-secret:${projectId}:${name}`);

export async function encryptSecret(base64Key: string, projectId: string, name: string, value: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aadOf(projectId, name) }, await keyOf(base64Key), encoder.encode(value)),
  );
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  let binary = "";
  for (const b of out) binary += String.fromCharCode(b);
  return btoa(binary);
}

export async function decryptSecret(base64Key: string, projectId: string, name: string, stored: string): Promise<string> {
  const bytes = Uint8Array.from(atob(stored), (c) => c.charCodeAt(0));
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: aadOf(projectId, name) },
    await keyOf(base64Key),
    bytes.slice(12),
  );
  return new TextDecoder().decode(plain);
}
