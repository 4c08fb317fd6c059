import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { accessTokenTtlSeconds } from "./jwt.js";

/**
 * `__Host-` cookies: the browser only accepts them Secure, with Path=/ and no Domain, so no
 * subdomain (where sites could be served) can set or overwrite them. Browsers treat
 * http://localhost and http://127.0.0.1 as secure, so a local stack keeps them too.
 * SameSite=Strict: the dashboard never needs them on a request that another site started.
 */
export const accessCookie = "__Host-sparki_access";
export const refreshCookie = "__Host-sparki_refresh";
export const refreshTokenTtlSeconds = 30 * 24 * 3600;
const attributes = { httpOnly: true, secure: true, sameSite: "Strict", path: "/" } as const;

/** Puts a session in the browser's cookies. */
export function setSessionCookies(c: Context, accessToken: string, refreshToken: string): void {
  setCookie(c, accessCookie, accessToken, { ...attributes, maxAge: accessTokenTtlSeconds });
  setCookie(c, refreshCookie, refreshToken, { ...attributes, maxAge: refreshTokenTtlSeconds });
}

export function clearSessionCookies(c: Context): void {
  deleteCookie(c, accessCookie, attributes);
  deleteCookie(c, refreshCookie, attributes);
}
