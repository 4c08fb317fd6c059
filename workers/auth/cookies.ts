import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { accessTokenTtlSeconds } from "./jwt.js";

export const accessCookie = "sparki_access";
export const refreshCookie = "sparki_refresh";
export const refreshTokenTtlSeconds = 30 * 24 * 3600;
// The refresh cookie only travels to the auth routes that need it.
const refreshPath = "/v1/auth";

/** Puts a session in HttpOnly, Secure, SameSite cookies for the browser. */
export function setSessionCookies(c: Context, accessToken: string, refreshToken: string): void {
  setCookie(c, accessCookie, accessToken, { httpOnly: true, secure: true, sameSite: "Lax", path: "/", maxAge: accessTokenTtlSeconds });
  setCookie(c, refreshCookie, refreshToken, { httpOnly: true, secure: true, sameSite: "Strict", path: refreshPath, maxAge: refreshTokenTtlSeconds });
}

export function clearSessionCookies(c: Context): void {
  deleteCookie(c, accessCookie, { path: "/", secure: true });
  deleteCookie(c, refreshCookie, { path: refreshPath, secure: true });
}
