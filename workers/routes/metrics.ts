import { Hono } from "hono";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import { flushMetrics } from "../metrics.js";
import { metricsObject } from "../../server/objects/clients.js";

/**
 * `GET /metrics`: Prometheus text, totals across every isolate. Guarded by METRICS_TOKEN (a
 * bearer token the scraper sends); without one configured the endpoint stays off.
 */
export const metricsRoutes = new Hono<AppEnv>().get("/metrics", async (c) => {
  const expected = c.var.config.METRICS_TOKEN;
  if (!expected) throw new SparkiError("not_found", { detail: "Metrics are off; set METRICS_TOKEN to turn them on." });
  if (c.req.header("authorization") !== `Bearer ${expected}`)
    throw new SparkiError("unauthenticated", { detail: "Send 'Authorization: Bearer <METRICS_TOKEN>'." });
  await flushMetrics(c.env, true);
  return c.text(await metricsObject(c.env).render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
});
