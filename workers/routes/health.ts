import { createRoute } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { Health } from "../../core/contracts/health.js";
import { json, newRouter } from "./router.js";

export const healthRoutes = newRouter();
const checkTimeoutMs = 3000;

async function probe(run: () => Promise<unknown>): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${checkTimeoutMs} ms`)), checkTimeoutMs);
  });
  try {
    await Promise.race([run(), timeout]);
    return { ok: true, latencyMs: Date.now() - started };
  } catch (err) {
    return { ok: false, latencyMs: Date.now() - started, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

healthRoutes.openapi(
  createRoute({
    method: "get",
    path: "/healthz",
    tags: ["health"],
    summary: "Whether Postgres and the cache answer",
    responses: {
      200: { description: "Everything answers", content: json(Health) },
      503: { description: "A store does not answer", content: json(Health) },
    },
  }),
  async (c) => {
    const [database, cache] = await Promise.all([probe(async () => (await c.var.db()).execute(sql`select 1`)), probe(() => c.var.cache.redis.ping())]);
    const checks = { database, cache };
    if (database.ok && cache.ok) return c.json({ status: "ok" as const, checks }, 200);
    return c.json({ status: "degraded" as const, checks }, 503);
  },
);
