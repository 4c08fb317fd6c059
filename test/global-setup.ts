/**
 * Starts the stores the workerd tests talk to: Postgres (PGlite in memory, or a fresh database
 * on the server named by DATABASE_URL), the WebSocket proxy for the Neon driver, and the
 * Upstash-compatible cache (in memory, or in front of REDIS_URL). Stops them afterwards.
 */
import type { TestProject } from "vitest/node";
import { startMigratedPglite } from "../dev/embedded-db.js";
import { startUpstashShim } from "../dev/upstash-shim.js";
import { startWsProxy } from "../dev/ws-proxy.js";
import { applyMigrations, dropDatabase, ensureDatabase } from "../dev/migrate.js";
import type { StackPlan } from "./stack-plan.js";

export default async function setup(_project: TestProject) {
  const plan = JSON.parse(process.env.SPARKI_TEST_STACK ?? "null") as StackPlan | null;
  if (!plan) throw new Error("vitest.config.ts did not plan the test stack");
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.error("test stack teardown:", err));
  };

  try {
    if (plan.serverUrl && plan.databaseName) {
      await ensureDatabase(plan.serverUrl, plan.databaseName);
      const { serverUrl, databaseName } = plan;
      stops.push(() => dropDatabase(serverUrl, databaseName));
      await applyMigrations(plan.databaseUrl);
    } else {
      // Migrated already (dev/embedded-db.ts); any database name reaches the one PGlite database.
      const pglite = await startMigratedPglite({ port: plan.pglitePort });
      stops.push(() => pglite.close());
    }

    const proxy = await startWsProxy({ port: plan.proxyPort });
    stops.push(() => proxy.close());
    const cache = await startUpstashShim({ port: plan.cachePort, token: plan.cacheToken, redisUrl: plan.redisUrl });
    stops.push(() => cache.close());
  } catch (err) {
    // Whatever did start must not keep vitest from exiting.
    await stopAll();
    throw err;
  }

  return stopAll;
}
