import { z } from "zod";
import type { SparkiEvent } from "../core/contracts/events.js";
import { parseApiOverrides } from "../core/net/outbound.ts";
import { TracingEnv } from "../core/tracing/context.ts";

/** The kinds of resource wrangler.toml binds (its sections `r2_buckets`, `durable_objects.bindings`, ...). */
export type ResourceKind = "r2_bucket" | "durable_object" | "queue" | "assets" | "service";

/**
 * The resources wrangler.toml binds, by name: the one hand-written list, because what each one
 * holds (which object class, which message) is not in wrangler.toml. config.node.test.ts checks
 * it against wrangler.toml both ways; `satisfies` keeps it equal to {@link Resources}.
 */
export const resourceBindings = {
  ARTIFACTS: "r2_bucket",
  RUNNER_DISPATCHER: "durable_object",
  METRICS: "durable_object",
  BUILD_COORDINATOR: "durable_object",
  DEPLOYMENT_ORCHESTRATOR: "durable_object",
  STAGE_LOCK: "durable_object",
  EVENTS: "queue",
  EVENTS_DLQ: "queue",
  ASSETS: "assets",
  PLANNER: "service",
} as const satisfies Record<keyof Resources, ResourceKind>;

/** What each resource binding holds. */
export interface Resources {
  ARTIFACTS: R2Bucket;
  RUNNER_DISPATCHER: DurableObjectNamespace<import("./objects/runner-dispatcher/protocol.js").RunnerDispatcherRpc>;
  METRICS: DurableObjectNamespace<import("./objects/metrics/protocol.js").MetricsRpc>;
  BUILD_COORDINATOR: DurableObjectNamespace<import("./objects/build-coordinator/protocol.js").BuildCoordinatorRpc>;
  DEPLOYMENT_ORCHESTRATOR: DurableObjectNamespace<import("./objects/deployment-orchestrator/protocol.js").DeploymentOrchestratorRpc>;
  STAGE_LOCK: DurableObjectNamespace<import("./objects/stage-lock/protocol.js").StageLockRpc>;
  EVENTS: Queue<SparkiEvent>;
  EVENTS_DLQ: Queue<unknown>;
  /** The dashboard's files (wrangler.toml [assets]). */
  ASSETS: Fetcher;
  /** The sparki-planner Worker's Planner entrypoint (planner/): detection and sparki.yml. */
  PLANNER: Service<import("../core/planner/contract.ts").PlannerRpc & Rpc.WorkerEntrypointBranded>;
}

/**
 * The vars and secrets, one per key of {@link Config} (its one source): wrangler hands each over
 * as text, or leaves it out; `configOf` says what the text means.
 */
export type Vars = { [K in keyof z.input<typeof Config>]?: string };

/** What the Worker and its objects are given: the resources, and the vars and secrets. */
export interface Bindings extends Resources, Vars {}

const flag = z
  .enum(["true", "false"])
  .default("false")
  .transform((v) => v === "true");

/** The vars and secrets, checked once per environment object so a misconfiguration fails loudly. */
export const Config = z
  .object({
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// connection string"),
    // host:port of the local WebSocket-to-TCP proxy; only set in development and tests.
    NEON_WS_PROXY: z
      .string()
      .regex(/^[\w.-]+:\d+$/, "must be host:port")
      .optional(),
    UPSTASH_REDIS_REST_URL: z.url(),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
    JWT_SECRET: z.string().min(32, "must be at least 32 characters"),
    BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(10),
    ALLOW_LOCAL_GIT_URLS: flag,
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
    // How long an isolate may reuse a cache entry without asking Upstash; 0 turns the tier off.
    ISOLATE_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
    // A job whose runner stops heartbeating goes back to the queue after this long.
    RUNNER_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
    // Registers runners into the instance's shared pool (serves every workspace); unset disables it.
    SHARED_RUNNER_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
    // DEVELOPMENT ONLY, never in production: shared-pool runners take every job of every workspace,
    // secrets and script deployments included, whatever the workspace's shared_runners policy.
    // `npm run dev` sets it so its one local runner runs a newcomer's builds with no setup.
    DEV_TRUST_SHARED_RUNNERS: flag,
    // AES-256-GCM key for project secrets: 32 random bytes, base64 (openssl rand -base64 32).
    SECRETS_KEY: z
      .string()
      .regex(/^[A-Za-z0-9+/]{43}=$/, "must be 32 bytes, base64-encoded (openssl rand -base64 32)")
      .optional(),
    // Bearer token Prometheus sends to GET /metrics; unset turns the endpoint off.
    METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
    // A build's log is cut here (with a line saying so).
    LOG_LIMIT_MIB: z.coerce.number().positive().max(10_240).default(100),
    // R2's S3 API: with all three set, artifact downloads redirect to presigned URLs (production).
    R2_S3_ENDPOINT: z.url().optional(),
    R2_ACCESS_KEY_ID: z.string().min(1).optional(),
    R2_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    R2_BUCKET_NAME: z.string().min(3).default("sparki-artifacts"),
    // Local stacks only: echoed in X-Sparki-Stack so a stack knows it reached its own Worker.
    STACK_ID: z.string().max(64).optional(),
    // This instance's public origin, for the addresses of sparki-static deployments.
    PUBLIC_URL: z.url().optional(),
    // Where sparki-static sites are served: each on its own host under this origin (server/sites/
    // hosts.ts), a registrable domain of its own that shares no cookie with the dashboard and API.
    // Unset: no site is served and sparki-static refuses to deploy.
    SITES_ORIGIN: z
      .url({ protocol: /^https?$/ })
      .refine(
        (u) => new URL(u).pathname === "/" && !new URL(u).search && !new URL(u).hash && !new URL(u).username,
        "must be an origin (scheme, host and port only)",
      )
      .transform((u) => new URL(u).origin)
      .optional(),
    // The GitLab instance projects link to (server/integrations/gitlab): gitlab.com, or a
    // self-managed instance's root URL (any path, e.g. https://example.com/gitlab).
    GITLAB_URL: z.url({ protocol: /^https?$/ }).default("https://gitlab.com"),
    // The GitHub App (README "Connect GitHub"): GitHub features are off until id, key and webhook
    // secret are set. The key is the app's .pem as downloaded (PKCS#1 or PKCS#8, "\n" escapes allowed).
    GITHUB_APP_ID: z.string().regex(/^\d+$/, "must be the app's numeric id").optional(),
    GITHUB_APP_PRIVATE_KEY: z.string().includes("PRIVATE KEY", { message: "must be the app's PEM private key" }).optional(),
    GITHUB_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
    // The app's URL name (github.com/apps/<slug>), where "Install" sends a workspace admin.
    GITHUB_APP_SLUG: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,99}$/, "must be the app's slug")
      .optional(),
    // GitHub Enterprise Server's API root (https://HOST/api/v3), or a test fake.
    GITHUB_API_URL: z.url({ protocol: /^https?$/ }).default("https://api.github.com"),
    // Where the app's install page is (GitHub Enterprise Server: https://HOST).
    GITHUB_WEB_URL: z.url({ protocol: /^https?$/ }).default("https://github.com"),
    // Sign in with GitHub (README "Sign in with GitHub or GitLab"): the GitHub App's own client id
    // and secret (an OAuth app's work too); both set turn the button on. Uses GITHUB_WEB_URL and GITHUB_API_URL.
    GITHUB_CLIENT_ID: z.string().min(1).max(255).optional(),
    GITHUB_CLIENT_SECRET: z.string().min(1).max(255).optional(),
    // Sign in with GitLab: a GitLab application (scope read_user) on GITLAB_URL; both set turn it on.
    GITLAB_CLIENT_ID: z.string().min(1).max(255).optional(),
    GITLAB_CLIENT_SECRET: z.string().min(1).max(255).optional(),
    // A stage waiting for approval is cancelled after this long.
    DEPLOY_APPROVAL_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(86_400),
    // A stage that has not deployed, or not become healthy, by then is rolled back.
    DEPLOY_STAGE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(1800),
    // A sparki-static site is refused (nothing published) past any of these, counted as it unpacks.
    SITE_MAX_MIB: z.coerce.number().positive().max(10_240).default(500),
    SITE_MAX_FILES: z.coerce.number().int().positive().max(1_000_000).default(20_000),
    SITE_MAX_FILE_MIB: z.coerce.number().positive().max(10_240).default(100),
    // One uploaded build artifact (streamed to R2, so not bound by the API's 1 MiB body limit).
    ARTIFACT_MAX_MIB: z.coerce.number().positive().max(1_048_576).default(2048),
    // Dependency caches (workers/routes/runner-caches.ts): one archive, and all of a project's
    // together (GitHub Actions keeps 10 GB per repository); past the second, the least recently used go.
    CACHE_ENTRY_MAX_MIB: z.coerce.number().positive().max(1_048_576).default(4096),
    CACHE_PROJECT_MAX_MIB: z.coerce.number().positive().max(10_485_760).default(10_240),
    // DEVELOPMENT ONLY: health checks and platform API overrides may use http on loopback.
    ALLOW_LOCAL_OUTBOUND: flag,
    // Origins (scheme://host[:port], ":*" for any port) that a stage's adapter `apiUrl` may name
    // besides the platform's documented API, comma-separated. Set by the instance's admin.
    PLATFORM_API_OVERRIDES: z
      .string()
      .optional()
      .transform((value, ctx) => {
        try {
          return parseApiOverrides(value);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
          return z.NEVER;
        }
      }),
    // Traces (README "Operate Sparki"): OTLP over HTTP to OTEL_EXPORTER_OTLP_ENDPOINT when set.
    ...TracingEnv.shape,
  })
  .refine((c) => !c.SITES_ORIGIN || !c.PUBLIC_URL || !sharesHost(new URL(c.SITES_ORIGIN).hostname, new URL(c.PUBLIC_URL).hostname), {
    message: "must be a domain of its own, not the API's host nor a parent or child of it",
    path: ["SITES_ORIGIN"],
  });
export type Config = z.infer<typeof Config>;

/** Whether one host is the other or a subdomain of it (a site there could share its cookies). */
function sharesHost(a: string, b: string): boolean {
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}

const parsed = new WeakMap<Vars, Config>();

/** Parses the environment once per bindings object; throws a readable error naming every bad var. */
export function configOf(env: Vars): Config {
  const cached = parsed.get(env);
  if (cached) return cached;
  const result = Config.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`Sparki is misconfigured: ${lines.join("; ")}`);
  }
  parsed.set(env, result.data);
  return result.data;
}
