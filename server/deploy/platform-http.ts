/**
 * The one HTTP client of the platform adapters (Railway, Render, Fly, Vercel): base URL, bearer
 * token, JSON in and out, zod-checked answers, a timeout per attempt, and the retry policy of
 * server/deploy/retry.ts for every call, so the adapters no longer each decide what a 429 means.
 *
 * Requests go through `ctx.fetch`, the fetch the orchestrator hands each adapter: it checks every
 * call and redirect against the platform's documented origin (outbound guard) and reads artifacts
 * from R2. Its refusal (OutboundRefused) is passed through untouched and never retried.
 */
import { readCapped } from "../http/read-capped.ts";
import { z } from "zod";
import { type DeployContext, PlatformError, type PlatformId } from "../../core/deploy/adapter.ts";
import { OutboundRefused } from "../../core/net/outbound.ts";
import { nextWait, parseRetryAfter, RETRY_BUDGET_MS, sleep as timerSleep } from "./retry.ts";

/** The most of an answer read: platform answers are small JSON, so a larger one is refused, not buffered. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

/** A failure the platform described in its own shape (an error body, or GraphQL errors in a 200). */
export interface Problem {
  /** For a 2xx answer carrying errors (GraphQL): the status it stands for. Ignored otherwise. */
  status?: number;
  message: string;
  code?: string;
  details?: unknown;
}

/** What differs between platforms; everything else is the client's. */
export interface PlatformClientConfig {
  platform: PlatformId;
  /** API root without a trailing slash concern: paths are appended to it as they are. */
  baseUrl: string;
  /** The credential holding the bearer token. */
  tokenName: string;
  /** Query parameters every call carries (Vercel's teamId). */
  query?: Record<string, string>;
  /** Reads the platform's documented error shape; for a 2xx, a non-null answer is a failure. */
  problemOf?: (status: number, body: unknown) => Problem | null;
  /** How long the platform asked us to wait, in ms; the default reads Retry-After. */
  retryAfterOf?: (headers: Headers, status: number, now: number) => number | null;
}

/** One call; `idempotent` is decided per call by the adapter, with the reason beside it. */
export interface PlatformCall<T> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  json?: unknown;
  /** A raw body (Vercel's file upload) instead of `json`. */
  body?: BodyInit;
  headers?: Record<string, string>;
  /** The 2xx answer's shape (an empty body parses as null). */
  answer: z.ZodType<T>;
  /** Sending it twice has the effect of sending it once: retried after any transient failure. Otherwise only after a 429. */
  idempotent: boolean;
  /** Names the call in messages; `METHOD path` by default. */
  label?: string;
  timeoutMs?: number;
  /** Statuses that end the call at once: answers the adapter reads (Fly's 408 from a wait), not blips. */
  final?: readonly number[];
}

type Attempt<T> =
  | { ok: true; value: T }
  | { ok: false; status: number; message: string; hintMs: number | null; problem?: Problem; cause?: unknown; final?: boolean };

const defaultRetryAfter = (headers: Headers, _status: number, now: number): number | null => parseRetryAfter(headers.get("retry-after"), now);

/** A client for one platform in one deployment context. */
export class PlatformClient {
  constructor(
    private readonly ctx: Pick<DeployContext, "fetch" | "signal" | "sleep" | "credentials">,
    private readonly config: PlatformClientConfig,
  ) {}

  /** Sends the call, retrying by the policy; the answer parsed, or a PlatformError from the last attempt. */
  async request<T>(call: PlatformCall<T>): Promise<T> {
    const token = this.ctx.credentials[this.config.tokenName];
    if (!token) throw new PlatformError(this.config.platform, 401, `${this.config.tokenName} is not set`);
    const sleep = this.ctx.sleep ?? timerSleep;
    let slept = 0;
    for (let attempt = 1; ; attempt++) {
      const a = await this.attempt(call, token);
      if (a.ok) return a.value;
      const stop = a.final === true || call.final?.includes(a.status) === true;
      const wait = stop ? null : nextWait({ status: a.status, hintMs: a.hintMs, idempotent: call.idempotent, attempt, sleptMs: slept });
      if (wait === null) throw this.error(call.label ?? `${call.method} ${call.path}`, a);
      slept += wait;
      await sleep(wait, this.ctx.signal);
      this.ctx.signal.throwIfAborted();
    }
  }

  private url(path: string): URL {
    const url = new URL(`${this.config.baseUrl.replace(/\/+$/, "")}${path}`);
    for (const [k, v] of Object.entries(this.config.query ?? {})) url.searchParams.set(k, v);
    return url;
  }

  private async attempt<T>(call: PlatformCall<T>, token: string): Promise<Attempt<T>> {
    const url = this.url(call.path);
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json", ...call.headers };
    if (call.json !== undefined) headers["content-type"] = "application/json";
    const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let res: Response;
    try {
      res = await this.ctx.fetch(url, {
        method: call.method,
        headers,
        body: call.json !== undefined ? JSON.stringify(call.json) : call.body,
        signal: AbortSignal.any([this.ctx.signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (err) {
      // The caller gave up, or the outbound guard refused the address: not the platform's failure.
      if (this.ctx.signal.aborted || err instanceof OutboundRefused) throw err;
      const why =
        err instanceof Error && err.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000}s` : err instanceof Error ? err.message : String(err);
      return { ok: false, status: 0, message: `API unreachable at ${url.origin}: ${why}`, hintMs: null, cause: err };
    }
    const text = await readCapped(res, MAX_ANSWER_BYTES);
    // Neither an oversized nor a malformed answer gets better by asking again at once.
    if (text === null)
      return { ok: false, status: 502, message: `answer larger than ${MAX_ANSWER_BYTES} bytes (HTTP ${res.status})`, hintMs: null, final: true };
    let body: unknown = null;
    let json = true;
    try {
      body = text ? (JSON.parse(text) as unknown) : null;
    } catch {
      // Not JSON (a proxy's error page): the status and text are all there is.
      json = false;
    }
    const problem = this.config.problemOf?.(res.status, body) ?? undefined;
    if (!res.ok) {
      const hintMs = (this.config.retryAfterOf ?? defaultRetryAfter)(res.headers, res.status, Date.now());
      const detail = problem?.message ?? (text.slice(0, 200) || res.statusText || "no detail");
      return { ok: false, status: res.status, message: `HTTP ${res.status}: ${detail}`, hintMs, problem };
    }
    if (problem) return { ok: false, status: problem.status ?? 502, message: problem.message, hintMs: null, problem };
    const parsed = json ? call.answer.safeParse(body) : null;
    if (!parsed?.success) {
      const why = parsed ? z.prettifyError(parsed.error) : `not JSON: ${text.slice(0, 200)}`;
      return { ok: false, status: 502, message: `unexpected answer (HTTP ${res.status}): ${why}`, hintMs: null, final: true };
    }
    return { ok: true, value: parsed.data };
  }

  private error(label: string, a: Extract<Attempt<unknown>, { ok: false }>): PlatformError {
    // The message keeps what the platform asked for; the field never exceeds what we would wait.
    const suffix = a.hintMs === null ? "" : ` (retry after ${Math.ceil(a.hintMs / 1000)}s)`;
    return new PlatformError(this.config.platform, a.status, `${label}: ${a.message}${suffix}`, {
      ...(a.hintMs === null ? {} : { retryAfterMs: Math.min(a.hintMs, RETRY_BUDGET_MS) }),
      ...(a.problem?.code === undefined ? {} : { code: a.problem.code }),
      ...(a.problem?.details === undefined ? {} : { details: a.problem.details }),
      ...(a.cause === undefined ? {} : { cause: a.cause }),
    });
  }
}
