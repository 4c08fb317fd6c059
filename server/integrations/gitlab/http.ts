/**
 * The one HTTP path to a GitLab instance (`GITLAB_URL`, default https://gitlab.com; self-managed
 * instances live at any origin and path): the instance root plus `/api/v4` or `/oauth`, JSON in,
 * zod-checked JSON out, and the retry policy of server/deploy/retry.ts (408, 429, 502-504 and no
 * answer are retried for idempotent calls, only 429 for the rest; Retry-After honoured within the
 * budget; a longer wait is not slept but reported as `retryAfterMs` for a queue retry).
 *
 * GitLab's error shapes, all read into {@link GitLabApiError}: `{"message": "404 Project Not Found"}`
 * from the API (a string, or an object of field errors on a 400), `{"error": "state is missing"}`
 * from parameter validation and `{"error", "error_description"}` from OAuth and scope checks. Its
 * rate limiter answers 429 in plain text ("Retry later") with Retry-After and RateLimit-Reset.
 */
import { readCapped } from "../../http/read-capped.ts";
import { z } from "zod";
import { nextWait, parseRetryAfter, RETRY_BUDGET_MS, sleep as timerSleep } from "../../deploy/retry.ts";

export const DEFAULT_GITLAB_URL = "https://gitlab.com";
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
const TIMEOUT_MS = 20_000;

/** Where and how to reach GitLab. */
export interface GitLabTransport {
  /** The instance root (`GITLAB_URL`), default {@link DEFAULT_GITLAB_URL}. */
  baseUrl?: string;
  /** The fetch to use (an outbound guard, a test's); default the global one. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Replaces the timer between attempts (tests). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const ErrorBody = z.object({
  message: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
});

/**
 * Every failure of a GitLab call: an answer GitLab gave, none (status 0), or one we could not
 * read (502). `code` is GitLab's own error word when it sent one (`insufficient_scope`,
 * `invalid_grant`, …).
 */
export class GitLabApiError extends Error {
  override readonly name = "GitLabApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly details: { code?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
  }
  /** Worth trying again later: no answer, a rate limit or a 5xx. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** One call. `auth` is the whole Authorization value, if any. */
export interface GitLabCall<T> {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** From the instance root: `/api/v4/...` or `/oauth/token`. */
  path: string;
  auth?: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  /** A form body (the OAuth token endpoint). */
  form?: Record<string, string>;
  answer: z.ZodType<T>;
  /** Sending it twice has the effect of sending it once (see retry.ts). */
  idempotent: boolean;
  /** Statuses that for this call mean "GitLab did nothing, try again" (retried like a 503). */
  transient?: readonly number[];
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: GitLabApiError; retryAs: number; hintMs: number | null };

/** Sends the call with retries; the parsed answer, or a GitLabApiError. */
export async function gitlabRequest<T>(t: GitLabTransport, call: GitLabCall<T>): Promise<T> {
  const signal = t.signal ?? new AbortController().signal;
  const sleep = t.sleep ?? timerSleep;
  let slept = 0;
  for (let attempt = 1; ; attempt++) {
    const a = await attemptOnce(t, call, signal);
    if (a.ok) return a.value;
    const wait = nextWait({ status: a.retryAs, hintMs: a.hintMs, idempotent: call.idempotent, attempt, sleptMs: slept });
    if (wait === null) throw a.error;
    slept += wait;
    await sleep(wait, signal);
    signal.throwIfAborted();
  }
}

/** The URL of a path on the instance, query included (undefined values left out). */
export function instanceUrl(base: string | undefined, path: string, query: GitLabCall<unknown>["query"] = {}): URL {
  const url = new URL(`${(base ?? DEFAULT_GITLAB_URL).replace(/\/+$/, "")}${path}`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

async function attemptOnce<T>(t: GitLabTransport, call: GitLabCall<T>, signal: AbortSignal): Promise<Attempt<T>> {
  const url = instanceUrl(t.baseUrl, call.path, call.query);
  const headers: Record<string, string> = { accept: "application/json", "user-agent": "sparki" };
  if (call.auth) headers.authorization = call.auth;
  let body: string | undefined;
  if (call.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(call.json);
  } else if (call.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(call.form).toString();
  }
  let res: Response;
  try {
    res = await (t.fetch ?? fetch)(url, {
      method: call.method,
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]),
    });
  } catch (err) {
    if (signal.aborted) throw err;
    const why = err instanceof Error ? err.message : String(err);
    return { ok: false, error: new GitLabApiError(0, `GitLab unreachable at ${url.origin}: ${why}`, { cause: err }), retryAs: 0, hintMs: null };
  }
  const label = `${call.method} ${call.path}`;
  const text = await readCapped(res, MAX_ANSWER_BYTES);
  if (text === null) return final(502, `${label}: answer larger than ${MAX_ANSWER_BYTES} bytes`);
  let parsedBody: unknown = null;
  try {
    parsedBody = text ? JSON.parse(text) : null;
  } catch {
    if (res.ok) return final(502, `${label}: answer is not JSON`);
  }
  if (!res.ok) {
    const f = failure(label, res, parsedBody, text);
    return call.transient?.includes(res.status) && !f.ok ? { ...f, retryAs: 503 } : f;
  }
  const parsed = call.answer.safeParse(parsedBody);
  if (!parsed.success) return final(502, `${label}: unexpected answer: ${z.prettifyError(parsed.error)}`);
  return { ok: true, value: parsed.data };
}

function final(status: number, message: string): Attempt<never> {
  return { ok: false, error: new GitLabApiError(status, message), retryAs: -1, hintMs: null };
}

function failure(label: string, res: Response, body: unknown, text: string): Attempt<never> {
  const e = ErrorBody.safeParse(body);
  const data = e.success ? e.data : {};
  const message =
    typeof data.message === "string"
      ? data.message
      : data.message
        ? JSON.stringify(data.message)
        : (data.error_description ?? data.error ?? (text.trim().slice(0, 200) || res.statusText));
  const now = Date.now();
  const hintMs = parseRetryAfter(res.headers.get("retry-after"), now) ?? (res.status === 429 ? resetHint(res.headers.get("ratelimit-reset"), now) : null);
  const capped = hintMs === null ? undefined : Math.min(hintMs, RETRY_BUDGET_MS);
  const error = new GitLabApiError(res.status, `${label}: HTTP ${res.status}: ${message}`, {
    ...(data.error ? { code: data.error } : {}),
    ...(capped === undefined ? {} : { retryAfterMs: capped }),
  });
  return { ok: false, error, retryAs: res.status, hintMs };
}

/** RateLimit-Reset is a Unix time in seconds: the wait until then. */
function resetHint(value: string | null, now: number): number | null {
  const at = Number(value);
  return value && Number.isFinite(at) && at > 0 ? Math.max(0, at * 1000 - now) : null;
}
