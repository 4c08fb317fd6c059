/**
 * The GitHub protocol pieces inside workerd (the workers pool): webhook signature verification
 * through @octokit/webhooks-methods, and the app JWT signed with jose from a PKCS#1 key, which
 * WebCrypto cannot import itself. Keys and signatures are made here with WebCrypto alone.
 */
import { decodeProtectedHeader, importSPKI, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { createAppJwt, pkcs1ToPkcs8 } from "./app-auth.ts";
import { verifyDelivery, WebhookRejected } from "./webhooks.ts";

const hex = (b: ArrayBuffer): string => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
const b64 = (b: Uint8Array): string => btoa(String.fromCharCode(...b));
const pem = (label: string, der: Uint8Array): string =>
  `-----BEGIN ${label}-----\n${b64(der)
    .match(/.{1,64}/g)
    ?.join("\n")}\n-----END ${label}-----\n`;

async function hmac(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return `sha256=${hex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)))}`;
}

/** The RSAPrivateKey (PKCS#1) inside a PKCS#8 PrivateKeyInfo: the OCTET STRING after version and algorithm. */
function pkcs1Of(pkcs8: Uint8Array): Uint8Array {
  let i = 1;
  const len = (): number => {
    const first = pkcs8[i++] ?? 0;
    if (first < 0x80) return first;
    let n = 0;
    for (let k = 0; k < (first & 0x7f); k++) n = n * 256 + (pkcs8[i++] ?? 0);
    return n;
  };
  len(); // the outer SEQUENCE
  i += 3; // INTEGER 0
  i += 1; // the AlgorithmIdentifier SEQUENCE
  const skip = len();
  i += skip;
  expect(pkcs8[i++]).toBe(0x04);
  const n = len();
  return pkcs8.slice(i, i + n);
}

describe("inside workerd", () => {
  it("verifies X-Hub-Signature-256 over the raw body and refuses a tampered one", async () => {
    const secret = "whsec-workerd";
    const body = JSON.stringify({ zen: "Design for failure.", hook_id: 1 });
    const headers = new Headers({ "x-github-event": "ping", "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "content-type": "application/json" });
    headers.set("x-hub-signature-256", await hmac(secret, body));
    await expect(verifyDelivery(secret, headers, new TextEncoder().encode(body))).resolves.toMatchObject({ event: "ping", payload: { hook_id: 1 } });
    const tampered = verifyDelivery(secret, headers, new TextEncoder().encode(body.replace("failure", "success")));
    await expect(tampered).rejects.toBeInstanceOf(WebhookRejected);
    await expect(tampered).rejects.toMatchObject({ reason: "bad_signature", status: 401 });
  });

  it("signs the app JWT with a PKCS#1 key (as GitHub hands it out) that verifies with the public key", async () => {
    const pair = (await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
    const pkcs1 = pkcs1Of(pkcs8);
    // The wrapper rebuilds exactly the envelope WebCrypto itself writes.
    expect(b64(pkcs1ToPkcs8(pkcs1))).toBe(b64(pkcs8));
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);

    const jwt = await createAppJwt({ appId: "424242", privateKey: pem("RSA PRIVATE KEY", pkcs1) });
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: "RS256", typ: "JWT" });
    const { payload } = await jwtVerify(jwt, await importSPKI(pem("PUBLIC KEY", spki), "RS256"), { issuer: "424242", algorithms: ["RS256"] });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
  });
});
