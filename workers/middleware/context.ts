import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { flushMetrics, recordRequest } from "../metrics.js";
import type { AppEnv } from "../app-env.js";
import { Cache } from "../../server/cache/cache.js";
import { isolateMemo } from "../../server/cache/isolate-memo.js";
import { connect, type Connection } from "../../server/db/client.js";
import { configOf } from "../../server/config.js";
import { tracingOf } from "../../server/tracing.js";
import { describeError, Logger } from "../log.js";

const acceptableRequestId = /^[\w.:-]{1,128}$/;

/**
 * Sets up everything a request carries: its id (accepted from X-Request-Id or made here, and
 * echoed back), its span (under the caller's W3C `traceparent`, or a new trace), the parsed
 * config, a logger bound to both, the cache, and a lazy Postgres connection that is closed once
 * the response is sent. Logs one line per request.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const started = Date.now();
  const incoming = c.req.header("x-request-id");
  const requestId = incoming && acceptableRequestId.test(incoming) ? incoming : `req_${crypto.randomUUID()}`;
  c.set("requestId", requestId);
  c.header("X-Request-Id", requestId);

  const config = configOf(c.env);
  const tracing = tracingOf(config, "sparki-api");
  const span = tracing.start(c.req.method, {
    parent: c.req.header("traceparent"),
    kind: "server",
    attributes: { "http.request.method": c.req.method, "url.path": c.req.path, "sparki.request_id": requestId },
  });
  c.set("trace", span);
  const log = new Logger({ service: "sparki-api", component: "http", correlationId: requestId, traceId: span.traceId ?? undefined }, config.LOG_LEVEL);
  c.set("config", config);
  if (config.STACK_ID) c.header("X-Sparki-Stack", config.STACK_ID);
  c.set("log", log);
  c.set(
    "cache",
    new Cache(
      config.UPSTASH_REDIS_REST_URL,
      config.UPSTASH_REDIS_REST_TOKEN,
      (operation, err) => log.warn(`cache ${operation} failed; serving from Postgres`, describeError(err)),
      isolateMemo(config.ISOLATE_CACHE_TTL_MS),
    ),
  );
  let connection: Promise<Connection> | undefined;
  c.set("db", async () => {
    connection ??= connect(config.DATABASE_URL, config.NEON_WS_PROXY);
    return (await connection).db;
  });

  try {
    await next();
  } finally {
    if (connection)
      c.executionCtx.waitUntil(
        connection.then(
          (conn) => conn.close(),
          () => undefined,
        ),
      );
    const status = c.res.status;
    // The handler's pattern (-1), not this middleware's "*": one series per route, not per URL.
    const endpoint = routePath(c, -1);
    recordRequest(c.req.method, endpoint, status, (Date.now() - started) / 1000, c.get("errorCode"));
    c.executionCtx.waitUntil(flushMetrics(c.env));
    span.rename(`${c.req.method} ${endpoint}`);
    span.set({ "http.route": endpoint, "http.response.status_code": status });
    if (status >= 500) span.fail(c.get("errorCode") ?? `status ${status}`);
    span.end();
    if (tracing.enabled) c.executionCtx.waitUntil(tracing.flushSoon());
    log[status >= 500 ? "error" : "info"](`${c.req.method} ${c.req.path} ${status}`, {
      method: c.req.method,
      path: c.req.path,
      status,
      duration_ms: Date.now() - started,
    });
  }
});

/** The caller's IP as Cloudflare reports it; client-set forwarding headers are not trusted. */
export function clientIp(header: (name: string) => string | undefined): string | null {
  return header("cf-connecting-ip") ?? null;
}
