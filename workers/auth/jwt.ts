import { errors, jwtVerify, SignJWT } from "jose";
import { SparkiError } from "../../core/errors.js";

export const accessTokenTtlSeconds = 15 * 60;
const issuer = "sparki";
const audience = "sparki-api";

export interface AccessClaims {
  userId: string;
  jti: string;
  expiresAt: number;
  /** When it was issued, in milliseconds: compared with the user's sessions_revoked_at. */
  issuedAtMs: number;
}

// Importing the HMAC key is the costly part of verifying; do it once per secret per isolate.
const keyCache = new Map<string, Promise<CryptoKey>>();
function keyOf(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keyCache.set(secret, key);
  }
  return key;
}

/** Signs a 15-minute HS256 access token for a user. */
export async function signAccessToken(userId: string, secret: string, now = Date.now()): Promise<{ token: string; jti: string }> {
  const jti = crypto.randomUUID();
  const iat = Math.floor(now / 1000);
  // `iat` has whole seconds; a login in the same second as a "log out everywhere" must survive it.
  const token = await new SignJWT({ iat_ms: now })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer(issuer)
    .setAudience(audience)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(iat + accessTokenTtlSeconds)
    .sign(await keyOf(secret));
  return { token, jti };
}

/**
 * Verifies an access token. Only HS256 is accepted, so `alg: none` and algorithm-confusion
 * tokens fail; every failure is the same 401 with a reason that helps the client, not an attacker.
 */
export async function verifyAccessToken(token: string, secret: string): Promise<AccessClaims> {
  try {
    const { payload } = await jwtVerify(token, await keyOf(secret), { algorithms: ["HS256"], issuer, audience });
    if (typeof payload.sub !== "string" || typeof payload.jti !== "string" || typeof payload.exp !== "number") {
      throw new SparkiError("invalid_token", { detail: "The access token lacks required claims." });
    }
    const issuedAtMs = typeof payload.iat_ms === "number" ? payload.iat_ms : (payload.iat ?? 0) * 1000;
    return { userId: payload.sub, jti: payload.jti, expiresAt: payload.exp, issuedAtMs };
  } catch (err) {
    if (err instanceof SparkiError) throw err;
    const detail = err instanceof errors.JWTExpired ? "The access token has expired; refresh it." : "The access token is not valid.";
    throw new SparkiError("invalid_token", { detail, cause: err });
  }
}
