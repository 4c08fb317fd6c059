/**
 * The whole local platform as one call: Postgres (embedded PGlite, or DATABASE_URL), the
 * WebSocket proxy for the Neon driver, the Upstash-compatible cache (in memory, or in front of
 * REDIS_URL), migrations, and `wrangler dev` running the API Worker. Used by `npm run dev` and
 * by the benchmarks, so both run exactly the same stack.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import getPort from "get-port";
import { applyMigrations } from "./migrate.js";
import { stopChild } from "./child-process.js";
import { openMigratedPglite } from "./embedded-db.js";
import { processReport } from "./process-report.js";
import { startLocalRunner, type LocalRunner } from "./local-runner.js";
import { startSitesProxy } from "./sites-proxy.js";
import { lockStateDir } from "./state-lock.js";
import { startUpstashShim } from "./upstash-shim.js";
import { startWsProxy } from "./ws-proxy.js";

export const projectRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface StackOptions {
  /** Where embedded data lives (PGlite files, wrangler state, dev secrets). */
  stateDir?: string;
  databaseUrl?: string;
  redisUrl?: string;
  apiPort?: number;
  /** Another Worker entry to run with wrangler.toml's bindings (benchmarks wrap the API). */
  entry?: string;
  /** Another wrangler config (a benchmark adding its own Durable Object). */
  config?: string;
  /**
   * Also run one runner agent in the shared pool (`npm run dev` does); the stack then trusts the
   * shared pool with every job (DEV_TRUST_SHARED_RUNNERS), as its one runner is the developer's own.
   */
  runner?: boolean;
  /** Extra `wrangler dev` vars, e.g. a lower bcrypt cost for benchmarks. */
  vars?: Record<string, string>;
  /**
   * What wrangler relays: `warn` (the default) shows the Worker's warnings and errors only; `log`
   * also shows its `console.log` lines (the operators' info and debug lines, LOG_LEVEL permitting).
   */
  wranglerLogLevel?: "error" | "warn" | "info" | "log" | "debug";
  log?: (line: string) => void;
}

export interface Stack {
  apiUrl: string;
  /** The sites origin: each sparki-static site at http://<site>.localhost:<port>/ (dev/sites-proxy.ts). */
  sitesOrigin: string;
  /** Bearer token for GET /metrics. */
  metricsToken: string;
  databaseUrl: string;
  proxyUrl: string;
  cacheUrl: string;
  embeddedDatabase: boolean;
  /** The stack's own runner, when {@link StackOptions.runner} asked for one. */
  runner?: LocalRunner;
  /**
   * The process group of the stack's `wrangler dev` (started detached): what a process that is
   * exiting, and so cannot await {@link close}, must kill so that no workerd outlives it.
   */
  wranglerGroup(): number | undefined;
  /**
   * What the stack's parts are doing now, for a test that finds it not answering: the embedded
   * database's holder and queue, and each process of wrangler's group (state, CPU, memory).
   */
  diagnose(): string;
  close(): Promise<void>;
}

interface DevSecrets {
  jwtSecret: string;
  cacheToken: string;
  sharedRunnerToken: string;
  secretsKey: string;
  metricsToken: string;
}

/** Secrets made once per state directory, so sessions survive a restart of `npm run dev`. */
function devSecrets(stateDir: string): DevSecrets {
  const file = join(stateDir, "dev-secrets.json");
  const fresh: DevSecrets = {
    jwtSecret: randomBytes(32).toString("hex"),
    cacheToken: randomBytes(16).toString("hex"),
    sharedRunnerToken: randomBytes(24).toString("hex"),
    secretsKey: randomBytes(32).toString("base64"),
    metricsToken: randomBytes(16).toString("hex"),
  };
  // Older state directories lack newer secrets: keep what exists, add what is missing.
  const secrets = existsSync(file) ? { ...fresh, ...(JSON.parse(readFileSync(file, "utf8")) as Partial<DevSecrets>) } : fresh;
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/**
 * Starts a server on its usual port, or on any free one when that is taken. Binding directly
 * (rather than asking which port is free, then binding) leaves no gap for another stack
 * starting at the same moment to take the port in between.
 */
async function onPreferredPort<T>(preferred: number, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(preferred);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    return start(0);
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? (() => {});
  const stateDir = resolve(options.stateDir ?? join(projectRoot, ".sparki"));
  mkdirSync(stateDir, { recursive: true });
  // First: a second stack on the same state would share (and break) the first one's.
  const lock = lockStateDir(stateDir);
  const stops: (() => Promise<void>)[] = [async () => lock.release()];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };

  try {
    const secrets = devSecrets(stateDir);
    // The database loads and migrates while wrangler starts (each takes seconds); both are
    // awaited before the stack is ready.
    let databaseUrl = options.databaseUrl;
    let databaseStats = () => "an external Postgres";
    let databaseReady: Promise<void>;
    if (!databaseUrl) {
      const started = Date.now();
      const pglite = await onPreferredPort(54320, (port) => openMigratedPglite({ dataDir: join(stateDir, "pgdata"), port }));
      stops.push(() => pglite.close());
      databaseStats = () => JSON.stringify(pglite.stats());
      const url = pglite.url;
      databaseUrl = url;
      databaseReady = pglite.ready.then(() =>
        log(`postgres  ${url}  (embedded PGlite, data in ${join(stateDir, "pgdata")}, migrated, ready in ${Date.now() - started} ms)`),
      );
    } else {
      const url = databaseUrl;
      databaseReady = applyMigrations(url).then(() => log(`postgres  ${redact(url)}  (migrations applied)`));
    }
    // Awaited below; until then a failure must not count as unhandled.
    databaseReady.catch(() => undefined);

    const proxy = await onPreferredPort(54321, (port) => startWsProxy({ port }));
    stops.push(() => proxy.close());
    const cache = await onPreferredPort(54322, (port) => startUpstashShim({ port, token: secrets.cacheToken, redisUrl: options.redisUrl }));
    stops.push(() => cache.close());
    log(`proxy     ${proxy.url}  (Neon driver → Postgres)`);
    log(`cache     ${cache.url}  (Upstash protocol → ${options.redisUrl ? `${redact(options.redisUrl)}, keys under ${cache.keyPrefix}` : "in memory"})`);

    // Two stacks starting at once can be handed the same free port, and only one wrangler gets
    // it: each stack's Worker echoes its own id, and a stack that finds another one there starts
    // its wrangler again on a new port.
    const stackId = randomBytes(8).toString("hex");
    let apiUrl = "";
    let apiPort = 0;
    let wranglerGroup: number | undefined;
    const sites = await onPreferredPort(8788, (port) => startSitesProxy({ port, workerPort: () => apiPort }));
    stops.push(() => sites.close());
    for (let attempt = 1; ; attempt++) {
      apiPort = options.apiPort ?? (await getPort({ port: 8787 }));
      const vars: Record<string, string> = {
        DATABASE_URL: databaseUrl,
        NEON_WS_PROXY: `127.0.0.1:${proxy.port}`,
        UPSTASH_REDIS_REST_URL: cache.url,
        UPSTASH_REDIS_REST_TOKEN: secrets.cacheToken,
        JWT_SECRET: secrets.jwtSecret,
        ALLOW_LOCAL_GIT_URLS: "true",
        // Health checks and platform API overrides may use http on loopback (core/net/outbound.ts).
        ALLOW_LOCAL_OUTBOUND: "true",
        SHARED_RUNNER_TOKEN: secrets.sharedRunnerToken,
        SECRETS_KEY: secrets.secretsKey,
        METRICS_TOKEN: secrets.metricsToken,
        // Deployment addresses (sparki-static sites) are shown as full URLs.
        PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
        SITES_ORIGIN: sites.origin,
        STACK_ID: stackId,
        // The stack's own local runner (shared pool) takes every job, secrets included, so a
        // newcomer's builds run with no setup. Development only: production never sets it.
        ...(options.runner ? { DEV_TRUST_SHARED_RUNNERS: "true" } : {}),
        // Traces go where the developer's own OTEL_* say (the local runner inherits them too).
        ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith("OTEL_") && e[1] !== undefined)),
        ...options.vars,
      };
      const envFile = join(stateDir, "worker.env");
      // A file rather than --var flags, so secrets do not show in the process list.
      writeFileSync(
        envFile,
        `${Object.entries(vars)
          .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
          .join("\n")}\n`,
        { mode: 0o600 },
      );
      // What this wrangler said, for telling a port another process took from any other failure.
      const said: string[] = [];
      const relay = (line: string) => {
        said.push(line);
        log(line);
      };
      const wrangler = startWrangler(apiPort, envFile, join(stateDir, "wrangler"), relay, options.entry, options.config, options.wranglerLogLevel);
      apiUrl = `http://127.0.0.1:${apiPort}`;
      try {
        await waitForHealthy(apiUrl, wrangler, stackId, said);
        // Said loudly: a stack whose API died otherwise looks ready while every request fails.
        let stopping = false;
        const url = apiUrl;
        wrangler.once("exit", (code, signal) => {
          if (!stopping) log(`api       wrangler dev exited (code ${code}, signal ${signal}): the API at ${url} is down`);
        });
        stops.push(() => {
          stopping = true;
          wranglerGroup = undefined;
          return stopChild(wrangler);
        });
        wranglerGroup = wrangler.pid;
        break;
      } catch (err) {
        await stopChild(wrangler);
        // A port taken as wrangler started, or a workerd killed in its start, is tried again: on a
        // new API port when the stack chose it, else on the same one (the port taken may have been
        // wrangler's inspector port, which two stacks starting together both reach for).
        if (!(err instanceof StartWorthRetrying) || attempt >= 3) throw err;
        log(`api       ${err.message}; trying ${options.apiPort === undefined ? "another port" : "again"}`);
      }
    }
    await databaseReady;
    log(`api       ${apiUrl}  (wrangler dev: Worker, Durable Objects, Queues, R2)`);
    log(`sites     http://<site>.${new URL(sites.origin).host}/  (sparki-static sites, each on a host of its own)`);
    let runner: LocalRunner | undefined;
    if (options.runner) {
      const started = await startLocalRunner({
        projectRoot,
        apiUrl,
        sharedToken: options.vars?.SHARED_RUNNER_TOKEN ?? secrets.sharedRunnerToken,
        stateDir,
        log,
      });
      runner = started;
      stops.push(() => started.stop());
    }
    return {
      apiUrl,
      sitesOrigin: sites.origin,
      metricsToken: options.vars?.METRICS_TOKEN ?? secrets.metricsToken,
      databaseUrl,
      proxyUrl: proxy.url,
      cacheUrl: cache.url,
      embeddedDatabase: !options.databaseUrl,
      ...(runner ? { runner } : {}),
      wranglerGroup: () => wranglerGroup,
      diagnose: () => {
        const group = wranglerGroup;
        const processes = group === undefined ? ["wrangler: stopped"] : processReport(group);
        return [`database: ${databaseStats()}`, ...processes].join("\n");
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

// wrangler cannot reach Cloudflare offline; it says so on every start, harmlessly.
const offlineNoise = /Request\.cf|workers\.cloudflare\.com|^\s+at /;

function startWrangler(
  port: number,
  envFile: string,
  persistTo: string,
  log: (line: string) => void,
  entry?: string,
  config?: string,
  logLevel: NonNullable<StackOptions["wranglerLogLevel"]> = "warn",
): ChildProcess {
  const wranglerBin = join(projectRoot, "node_modules", "wrangler", "bin", "wrangler.js");
  const args = [
    wranglerBin,
    "dev",
    ...(entry ? [entry] : []),
    "--config",
    config ?? "wrangler.toml",
    // The planner Worker beside it, in the same workerd: the API's PLANNER service binding.
    "--config",
    "planner/wrangler.toml",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    persistTo,
    "--show-interactive-dev-session=false",
    "--log-level",
    logLevel,
    "--env-file",
    envFile,
  ];
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) if (line.trim() !== "" && !offlineNoise.test(line)) log(`wrangler  ${line.replace(workerNamePrefix, "")}`);
  };
  child.stdout?.on("data", relay);
  child.stderr?.on("data", relay);
  return child;
}

/**
 * Running two Workers (the API and the planner), wrangler starts each of their lines with the
 * Worker's name; a JSON log line names its service already, and stays one line of the seed's format.
 */
const workerNamePrefix = /^\[[\w-]+\] (?=\{)/;

/** A wrangler start that failed for a reason outside this stack: tried again, up to three times. */
export class StartWorthRetrying extends Error {}

/** Why a wrangler exited before its Worker answered, from what it said: worth another try or not. */
export function startFailure(exitCode: number, said: readonly string[]): Error {
  // Two stacks starting at once may both be handed a free port (the API's, or wrangler's
  // inspector port 9229), and the later bind fails: that start is tried again on new ports.
  if (said.some((line) => /address already in use/i.test(line)))
    return new StartWorthRetrying("wrangler dev could not bind a port another process took as it started (EADDRINUSE)");
  // workerd gone before it reported its ports, having written nothing (miniflare then says only
  // this): killed from outside, as seen once with two suites starting stacks on one machine.
  if (said.some((line) => /Workers runtime failed to start\. There is likely additional logging/.test(line)))
    return new StartWorthRetrying("workerd exited during its start without a word (killed from outside?)");
  const last = said.slice(-6).join(" | ");
  return new Error(`wrangler dev exited with code ${exitCode}${last ? `; its last lines: ${last}` : " before it said anything"}`);
}

async function waitForHealthy(apiUrl: string, child: ChildProcess, stackId: string, said: readonly string[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "no answer yet";
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw startFailure(child.exitCode, said);
    try {
      const res = await fetch(`${apiUrl}/healthz`);
      // Another stack's Worker on the same port answers too: that is a port collision, not ready.
      const other = res.headers.get("x-sparki-stack");
      if (other !== stackId) {
        await res.body?.cancel();
        throw new StartWorthRetrying(`port ${new URL(apiUrl).port} is answered by ${other ? "another Sparki stack" : "another server"} (EADDRINUSE)`);
      }
      if (res.status === 200) return;
      lastError = `healthz answered ${res.status}: ${await res.text()}`;
    } catch (err) {
      if (err instanceof StartWorthRetrying) throw err;
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the API did not become healthy within ${timeoutMs / 1000} s (${lastError})`);
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}
