import { Client, neonConfig } from "@neondatabase/serverless";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import { SparkiError } from "../../core/errors.js";
import * as schema from "./schema.js";

export type Db = NeonDatabase<typeof schema>;

let proxyConfigured: string | undefined;

/**
 * Routes the Neon driver through a local WebSocket-to-TCP proxy (development and tests).
 * Production leaves Neon's defaults alone. pipelineConnect must be off: PGlite and plain
 * Postgres mishandle a startup and password sent in one go.
 */
function useLocalProxy(proxy: string): void {
  if (proxyConfigured === proxy) return;
  neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  proxyConfigured = proxy;
}

export interface Connection {
  db: Db;
  close(): Promise<void>;
}

/**
 * Opens one connection for one request. Workers cannot share I/O objects across requests,
 * so the connection lives and dies with the request; a failure to reach Postgres becomes a 503.
 */
export async function connect(url: string, proxy: string | undefined): Promise<Connection> {
  if (proxy) useLocalProxy(proxy);
  const client = new Client({ connectionString: url });
  // Without a listener an idle connection's error would surface as an unhandled rejection.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (cause) {
    throw new SparkiError("database_unavailable", { detail: "Postgres could not be reached; try again shortly.", retryAfter: 5, cause });
  }
  return { db: drizzle(client, { schema }), close: () => client.end().catch(() => {}) };
}

/** SQLSTATE of a Postgres error, looked up through drizzle's wrapping. */
export function sqlState(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
