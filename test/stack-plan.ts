/**
 * Decides, before vitest starts, where the test stack's services will listen, so that the
 * Workers pool can be given their URLs as bindings. The global setup then starts them there.
 * DATABASE_URL and REDIS_URL switch from the embedded PGlite and in-memory cache to real servers.
 */
import getPort from "get-port";

export interface StackPlan {
  /** The URL the Worker uses; for a real server, a fresh database made for this run. */
  databaseUrl: string;
  /** Set when a real Postgres server is used: where to create and drop the run's database. */
  serverUrl?: string;
  databaseName?: string;
  pglitePort?: number;
  proxyPort: number;
  cachePort: number;
  cacheToken: string;
  redisUrl?: string;
}

export async function planStack(env: NodeJS.ProcessEnv): Promise<StackPlan> {
  const proxyPort = await getPort();
  const cachePort = await getPort();
  const cacheToken = `test-${crypto.randomUUID()}`;
  const redisUrl = env.REDIS_URL || undefined;
  if (env.DATABASE_URL) {
    const databaseName = `sparki_test_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
    const url = new URL(env.DATABASE_URL);
    url.pathname = `/${databaseName}`;
    return { databaseUrl: url.toString(), serverUrl: env.DATABASE_URL, databaseName, proxyPort, cachePort, cacheToken, redisUrl };
  }
  const pglitePort = await getPort();
  return { databaseUrl: `postgres://postgres@127.0.0.1:${pglitePort}/postgres`, pglitePort, proxyPort, cachePort, cacheToken, redisUrl };
}
