/**
 * The Worker's answer to every request on the sites origin (`SITES_ORIGIN`): the host names the
 * site (hosts.ts), the path names the file (serve.ts). Nothing of the API or the dashboard is
 * reachable on these hosts, and no response here sets or reads a cookie of theirs.
 */
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../app-env.js";
import { describeError } from "../log.js";
import { requestContext } from "../middleware/context.js";
import { siteOfHost } from "../../server/sites/hosts.js";
import { pinCookie, serveSite, siteSecurityHeaders } from "../../server/sites/serve.js";

export function createSitesApp() {
  const app = new Hono<AppEnv>();
  app.use("*", requestContext);
  app.all("*", async (c) => {
    const url = new URL(c.req.url);
    const target = siteOfHost(c.var.config.SITES_ORIGIN, url.host);
    if (!target) return c.text("No such site", 404, siteSecurityHeaders);
    return serveSite({ bucket: c.env.ARTIFACTS, db: c.var.db, cache: c.var.cache }, target, {
      method: c.req.method,
      path: url.pathname,
      pinned: getCookie(c, pinCookie) ?? null,
    });
  });
  app.onError((err, c) => {
    c.var.log?.error("site request failed", describeError(err));
    return c.text(`Something went wrong (request ${c.var.requestId ?? "unknown"})`, 500, siteSecurityHeaders);
  });
  return app;
}
