/**
 * One interface for every deployment target (DESIGN.md "Deployments (Loco)"). The
 * DeploymentOrchestrator drives adapters through it; each platform's adapter lives in its own
 * file under server/deploy/adapters/ and talks to the platform's public HTTP API with the
 * `fetch` it is given, so tests point it at a local fake of that API.
 */
import type { z } from "zod";

export type PlatformId = "sparki-static" | "script" | "railway" | "render" | "fly" | "vercel";

/** What one deployment of one stage asks of a platform. */
export interface DeployContext {
  deploymentId: string;
  projectId: string;
  stage: string;
  commitSha: string;
  /** The build's artifact (a .tar.gz of the output directory, or one file): a URL the platform or adapter can GET. */
  artifact: { url: string; kind: "file" | "directory"; sha256: string | null; size: number };
  /** Environment variables for the deployed app (stage env from sparki.yml). */
  env: Record<string, string>;
  /** Platform credentials, from the project's encrypted secrets (e.g. RAILWAY_TOKEN). */
  credentials: Record<string, string>;
  /** The adapter's settings from sparki.yml, already parsed with its `settings` schema. */
  settings: Record<string, unknown>;
  /** fetch to the platform: the global one in production, pointed at a fake in tests. */
  fetch: typeof fetch;
  signal: AbortSignal;
  /**
   * How the platform client waits between attempts; tests pass one that records the wait and
   * returns at once, so no test sleeps for real. Absent: a timer that ends early on `signal`.
   */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** A platform-side deployment the orchestrator can check on, promote or roll back to. */
export interface PlatformDeployment {
  /** The platform's own id for it. */
  id: string;
  /** Where it is served, when the platform says. */
  url: string | null;
}

export type PlatformState = "pending" | "ready" | "failed";

/**
 * The one rule for whether a failed platform call is worth another try later: no answer at all
 * (status 0: unreachable, timed out), 408, 429 and every 5xx. The platform client retries a
 * narrower set in process (server/deploy/retry.ts); this flag tells the orchestrator whether to
 * keep polling rather than roll back.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** What a PlatformError may carry beyond its status and message. */
export interface PlatformErrorOptions {
  /** How long the platform asked us to wait (Retry-After or its own rate-limit header), already capped. */
  retryAfterMs?: number;
  /** The platform's own error code (Vercel's `missing_files`, Railway's extensions.code). */
  code?: string;
  /** What else the platform said about the failure, for the adapter to parse (Vercel's missing SHAs). */
  details?: unknown;
  cause?: unknown;
}

/** An error the platform answered with, in its documented shape, turned into one line. */
export class PlatformError extends Error {
  override readonly name = "PlatformError";
  /** Worth another try later, by {@link isRetryableStatus}: never decided per adapter. */
  readonly retryable: boolean;
  /** Set only when the platform said how long to wait; never more than the client's cap. */
  readonly retryAfterMs?: number;
  readonly code?: string;
  readonly details?: unknown;

  constructor(
    readonly platform: PlatformId,
    readonly status: number,
    message: string,
    options: PlatformErrorOptions = {},
  ) {
    super(`${platform}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = isRetryableStatus(status);
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.code !== undefined) this.code = options.code;
    if (options.details !== undefined) this.details = options.details;
  }
}

export interface PlatformAdapter {
  readonly platform: PlatformId;
  /** Settings this adapter reads from sparki.yml (zod, strict): project/service ids and the like. */
  readonly settings: z.ZodType<Record<string, unknown>>;
  /** Credential names it needs (secrets of the project). */
  readonly credentials: readonly string[];
  /**
   * The platform's documented API origin, for adapters that call one: the only origin their
   * requests (and so their tokens) may go to unless an instance admin allows an override
   * (PLATFORM_API_OVERRIDES, core/net/outbound.ts).
   */
  readonly apiOrigin?: string;
  /** Pre-deploy checks: every problem found (missing credential, unknown service, unreachable API). Empty means go. */
  validate(ctx: DeployContext): Promise<string[]>;
  /** Starts a deployment of the artifact; returns as soon as the platform accepted it. */
  deploy(ctx: DeployContext): Promise<PlatformDeployment>;
  /** Where a deployment stands on the platform. */
  state(ctx: DeployContext, deployment: PlatformDeployment): Promise<PlatformState>;
  /** Makes an earlier deployment the live one again (platform-native rollback or redeploy). */
  rollback(ctx: DeployContext, to: PlatformDeployment): Promise<PlatformDeployment>;
  /**
   * Platforms that split traffic: sends `percent` of the stage's traffic to `deployment` (100
   * makes it the live one; 0 leaves it reachable only at its own address). Without it, the
   * strategy is all-at-once: `deploy` makes the new version live.
   */
  route?(ctx: DeployContext, deployment: PlatformDeployment, percent: number): Promise<void>;
  /** Where a deployment is served, when the platform can say without being asked. */
  addressOf?(ctx: DeployContext, deployment: PlatformDeployment): string | null;
}

/**
 * The checks every adapter's `validate` starts with, needing no call to the platform: each
 * credential the adapter names is present, and its settings parse. Returns the problems (missing
 * credentials first) and the parsed settings when they parse.
 */
export function localProblems<T>(
  platform: PlatformId,
  credentials: readonly string[],
  settings: z.ZodType<T>,
  ctx: Pick<DeployContext, "credentials" | "settings">,
): { problems: string[]; settings: T | undefined } {
  const problems = credentials.filter((name) => !ctx.credentials[name]).map((name) => `missing credential ${name}`);
  const parsed = settings.safeParse(ctx.settings);
  if (!parsed.success) {
    problems.push(`invalid ${platform} settings: ${parsed.error.issues.map((i) => `${i.path.join(".") || "settings"}: ${i.message}`).join("; ")}`);
  }
  return { problems, settings: parsed.success ? parsed.data : undefined };
}
