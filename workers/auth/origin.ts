import type { Context } from "hono";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";

/**
 * Whether a request comes from the dashboard's own origin (the API's: the Worker serves both).
 * Browsers send `Origin` on every write and WebSocket upgrade, so a missing one is refused too.
 * Every other origin is refused, the sites origin included, and so is the same host on another
 * port (a local stack serves sites that way, and cookies do not tell ports apart).
 */
export function fromDashboard(c: Context<AppEnv>): boolean {
  const origin = c.req.header("origin");
  if (origin === undefined) return false;
  const fetchSite = c.req.header("sec-fetch-site");
  if (fetchSite !== undefined && fetchSite !== "same-origin") return false;
  // An allow list of exactly these two, so the sites origin (SITES_ORIGIN and its per-project
  // hosts) is refused whatever it is configured to; env.ts keeps it off the API's host.
  const { PUBLIC_URL } = c.var.config;
  return origin === new URL(c.req.url).origin || (PUBLIC_URL !== undefined && origin === new URL(PUBLIC_URL).origin);
}

/** Refuses a cookie-authenticated request that the dashboard did not make (CSRF, WebSocket hijacking). */
export function requireDashboardOrigin(c: Context<AppEnv>): void {
  if (!fromDashboard(c)) {
    throw new SparkiError("forbidden", {
      detail: "The session cookie is accepted only from the dashboard's own origin; other clients send 'Authorization: Bearer <token>'.",
    });
  }
}
