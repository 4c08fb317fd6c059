/**
 * The two cookies of signing in with GitHub or GitLab:
 * - `__Host-sparki_oauth`: a random nonce whose hash the flow's row keeps (oauth_flows), so the
 *   callback only completes in the browser that started the flow. SameSite=Lax, because the
 *   provider's redirect back is a cross-site top-level navigation, which Strict cookies miss.
 * - `__Host-sparki_oauth_link`: a provider account waiting to be linked to the existing account
 *   with its email, as a 10-minute HS256 JWT under a key derived from JWT_SECRET for this purpose
 *   alone (it never passes as an access token, nor one as it). Only POST /v1/auth/oauth/link,
 *   with that account's password, turns it into a link. Strict: only the dashboard reads it.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { OAuthProvider } from "../../core/contracts/oauth.js";
import { derivedHmacKey } from "../../server/secrets/derived-key.js";

export const flowCookie = "__Host-sparki_oauth";
export const linkCookie = "__Host-sparki_oauth_link";
export const flowTtlSeconds = 600;
const flowAttributes = { httpOnly: true, secure: true, sameSite: "Lax", path: "/" } as const;
const linkAttributes = { httpOnly: true, secure: true, sameSite: "Strict", path: "/" } as const;

export function setFlowCookie(c: Context, nonce: string): void {
  setCookie(c, flowCookie, nonce, { ...flowAttributes, maxAge: flowTtlSeconds });
}
export function readFlowCookie(c: Context): string | undefined {
  return getCookie(c, flowCookie);
}
export function clearFlowCookie(c: Context): void {
  deleteCookie(c, flowCookie, flowAttributes);
}

export const PendingLinkClaims = z.object({
  sub: z.uuid(),
  provider: OAuthProvider,
  pid: z.string().min(1).max(64),
  login: z.string().max(255),
  email: z.string().max(255),
});
export type PendingLinkClaims = z.infer<typeof PendingLinkClaims>;

const issuer = "sparki";
const audience = "sparki-oauth-link";
const keyOf = (secret: string) => derivedHmacKey(secret, "sparki oauth pending link v1");

/** The pending link's token (the cookie's value). */
export async function signPendingLink(claims: PendingLinkClaims, secret: string, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  const { sub, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + flowTtlSeconds)
    .sign(await keyOf(secret));
}

export async function setLinkCookie(c: Context, claims: PendingLinkClaims, secret: string): Promise<void> {
  setCookie(c, linkCookie, await signPendingLink(claims, secret), { ...linkAttributes, maxAge: flowTtlSeconds });
}

/** The pending link in the cookie, or undefined when there is none, or it is altered or expired. */
export async function readLinkCookie(c: Context, secret: string): Promise<PendingLinkClaims | undefined> {
  const token = getCookie(c, linkCookie);
  if (!token || token.length > 4096) return undefined;
  try {
    const { payload } = await jwtVerify(token, await keyOf(secret), { algorithms: ["HS256"], issuer, audience });
    const claims = PendingLinkClaims.safeParse(payload);
    return claims.success ? claims.data : undefined;
  } catch {
    return undefined;
  }
}

export function clearLinkCookie(c: Context): void {
  deleteCookie(c, linkCookie, linkAttributes);
}
