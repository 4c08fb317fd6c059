/**
 * The one HTTP path to the GitHub REST API: base URL (`GITHUB_API_URL`, for GitHub Enterprise
 * Server `https://HOST/api/v3`), the headers GitHub asks for, JSON in, zod-checked JSON out, and
 * the retry policy of server/deploy/retry.ts (the same rules as every platform call).
 *
 * GitHub's own additions to that policy, from its rate-limit docs and octokit's throttling plugin:
 * a 403 or 429 that carries `retry-after`, `x-ratelimit-remaining: 0` or a "secondary rate limit"
 * message is a rate limit: GitHub refused before acting, so it is retried like a 429 (even for a
 * call that creates something), after `retry-after` or until `x-ratelimit-reset`. A wait beyond
 * the retry budget is not slept: the error carries `retryAfterMs` for the caller (a queue retry).
 * Any other 403 (a missing permission) is final.
 */
import { readCapped } from "../../http/read-capped.ts";
import { z } from "zod";
import { nextWait, parseRetryAfter, RETRY_BUDGET_MS, sleep as timerSleep } from "../../deploy/retry.ts";

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";
/** The REST API version every call pins (GitHub answers 400 to one it does not know). */
export const GITHUB_API_VERSION = "2022-11-28";
/** GitHub refuses requests without a User-Agent. */
const USER_AGENT = "sparki";
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
const TIMEOUT_MS = 20_000;

/** Where and how to reach GitHub; everything is optional but the token. */
export interface GitHubTransport {
  /** API root, default {@link DEFAULT_GITHUB_API_URL}; paths are appended as they are. */
  apiUrl?: string;
  /** The fetch to use (an outbound guard, a test's); default the global one. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Replaces the timer between attempts (tests). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** A GitHub error body: `{message, documentation_url, errors?}` (422s list the fields). */
const ErrorBody = z.object({
  message: z.string().optional(),
  documentation_url: z.string().optional(),
  errors: z.array(z.unknown()).optional(),
});

/** Every failure of a GitHub call: an answer GitHub gave, or none (status 0), or one we could not read (502). */
export class GitHubApiError extends Error {
  override readonly name = "GitHubApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly details: {
      documentationUrl?: string;
      errors?: unknown[];
      /** GitHub asked to wait this long (capped to the retry budget). */
      retryAfterMs?: number;
      rateLimited?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
  }
  /** Worth trying again later: no answer, a rate limit or a 5xx. */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.details.rateLimited === true;
  }
}

/** One call. `auth` is the whole Authorization value (`Bearer <jwt|token>`). */
export interface GitHubCall<T> {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  path: string;
  auth: string;
  query?: Record<string, string | number>;
  json?: unknown;
  answer: z.ZodType<T>;
  /** Sending it twice has the effect of sending it once (see retry.ts). */
  idempotent: boolean;
}

type Attempt<T> = { ok: true; value: T; headers: Headers } | { ok: false; error: GitHubApiError; retryAs: number; hintMs: number | null };

/** Sends the call with retries; the parsed answer and its headers, or a GitHubApiError. */
export async function githubRequest<T>(t: GitHubTransport, call: GitHubCall<T>): Promise<{ data: T; headers: Headers }> {
  const signal = t.signal ?? new AbortController().signal;
  const sleep = t.sleep ?? timerSleep;
  let slept = 0;
  for (let attempt = 1; ; attempt++) {
    const a = await attemptOnce(t, call, signal);
    if (a.ok) return { data: a.value, headers: a.headers };
    const wait = nextWait({ status: a.retryAs, hintMs: a.hintMs, idempotent: call.idempotent, attempt, sleptMs: slept });
    if (wait === null) throw a.error;
    slept += wait;
    await sleep(wait, signal);
    signal.throwIfAborted();
  }
}

/** The API URL of a path, query included. */
export function apiUrl(base: string | undefined, path: string, query: Record<string, string | number> = {}): URL {
  const url = new URL(`${(base ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, "")}${path}`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
  return url;
}

async function attemptOnce<T>(t: GitHubTransport, call: GitHubCall<T>, signal: AbortSignal): Promise<Attempt<T>> {
  const url = apiUrl(t.apiUrl, call.path, call.query);
  const headers: Record<string, string> = {
    accept: "application/vnd.github+json",
    authorization: call.auth,
    "user-agent": USER_AGENT,
    "x-github-api-version": GITHUB_API_VERSION,
  };
  if (call.json !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await (t.fetch ?? fetch)(url, {
      method: call.method,
      headers,
      body: call.json === undefined ? undefined : JSON.stringify(call.json),
      signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]),
    });
  } catch (err) {
    if (signal.aborted) throw err;
    const why = err instanceof Error ? err.message : String(err);
    return { ok: false, error: new GitHubApiError(0, `GitHub unreachable at ${url.origin}: ${why}`, { cause: err }), retryAs: 0, hintMs: null };
  }
  const text = await readCapped(res, MAX_ANSWER_BYTES);
  if (text === null) return final(502, `${call.method} ${call.path}: answer larger than ${MAX_ANSWER_BYTES} bytes`);
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (res.ok) return final(502, `${call.method} ${call.path}: answer is not JSON`);
  }
  if (!res.ok) return failure(call, res, body, text);
  const parsed = call.answer.safeParse(body);
  if (!parsed.success) return final(502, `${call.method} ${call.path}: unexpected answer: ${z.prettifyError(parsed.error)}`);
  return { ok: true, value: parsed.data, headers: res.headers };
}

function final(status: number, message: string): Attempt<never> {
  return { ok: false, error: new GitHubApiError(status, message), retryAs: -1, hintMs: null };
}

function failure(call: GitHubCall<unknown>, res: Response, body: unknown, text: string): Attempt<never> {
  const e = ErrorBody.safeParse(body);
  const message = (e.success ? e.data.message : undefined) ?? (text.slice(0, 200) || res.statusText);
  const now = Date.now();
  const limit = rateLimit(res, message, now);
  const hintMs = limit ?? parseRetryAfter(res.headers.get("retry-after"), now);
  const capped = hintMs === null ? undefined : Math.min(hintMs, RETRY_BUDGET_MS);
  const error = new GitHubApiError(res.status, `${call.method} ${call.path}: HTTP ${res.status}: ${message}`, {
    ...(e.success && e.data.documentation_url ? { documentationUrl: e.data.documentation_url } : {}),
    ...(e.success && e.data.errors ? { errors: e.data.errors } : {}),
    ...(capped === undefined ? {} : { retryAfterMs: capped }),
    ...(limit === null ? {} : { rateLimited: true }),
  });
  // A rate limit is retried as a 429: GitHub refused before doing anything.
  return { ok: false, error, retryAs: limit === null ? res.status : 429, hintMs };
}

/** How long a rate-limited answer asks to wait in ms, or null when the answer is no rate limit. */
function rateLimit(res: Response, message: string, now: number): number | null {
  if (res.status !== 403 && res.status !== 429) return null;
  const after = parseRetryAfter(res.headers.get("retry-after"), now);
  if (after !== null) return after;
  if (res.headers.get("x-ratelimit-remaining") === "0") {
    const reset = Number(res.headers.get("x-ratelimit-reset"));
    return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : 60_000;
  }
  // GitHub: "wait at least one minute" when a secondary limit names no time.
  if (/secondary rate limit/i.test(message)) return 60_000;
  return res.status === 429 ? 0 : null;
}
