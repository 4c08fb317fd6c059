/**
 * `npm run dev`: the whole platform on this machine with embedded defaults.
 * DATABASE_URL and REDIS_URL swap the embedded Postgres and cache for real servers;
 * SPARKI_DEV_STATE_DIR keeps the stack's state somewhere other than the checkout's `.sparki/`.
 */
import { startStack } from "./stack.js";

const started = Date.now();
const log = (line: string) => console.log(`[sparki] ${line}`);

async function main(): Promise<void> {
  log("starting the local stack…");
  const stack = await startStack({
    stateDir: process.env.SPARKI_DEV_STATE_DIR || undefined,
    databaseUrl: process.env.DATABASE_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    apiPort: process.env.PORT ? Number(process.env.PORT) : undefined,
    runner: true,
    log,
  });
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`
  API        ${stack.apiUrl}/v1
  Health     ${stack.apiUrl}/healthz
  OpenAPI    ${stack.apiUrl}/v1/openapi.json
  Sites      http://<site>.${new URL(stack.sitesOrigin).host}/  (sparki-static deployments; the URL is on each deployment)
  Metrics    ${stack.apiUrl}/metrics  (Authorization: Bearer ${stack.metricsToken})
  Postgres   ${stack.embeddedDatabase ? `${stack.databaseUrl} (embedded)` : "DATABASE_URL"}

  Try:  curl -s -X POST ${stack.apiUrl}/v1/auth/signup -H 'content-type: application/json' \\
          -d '{"email":"me@example.com","password":"a long password","name":"Me"}'
        curl -s -X POST ${stack.apiUrl}/v1/auth/login -H 'content-type: application/json' \\
          -d '{"email":"me@example.com","password":"a long password"}'   # accessToken
        then create a workspace and a project whose gitUrl is a local repository path, and
        POST /v1/projects/<id>/builds: the local runner builds it (see README.md).

  Ctrl-C stops everything.
`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping…`);
    await stack.close();
    log("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error(`[sparki] could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
