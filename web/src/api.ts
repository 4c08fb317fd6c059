/**
 * The one way the dashboard talks to the API: same-origin fetches authenticated by the
 * HttpOnly `__Host-` cookies the API sets at login (`session: "cookie"`); no token ever reaches
 * this code. A 401 refreshes the session once (the new tokens come back only as cookies) and
 * retries; answers are checked against the contracts, errors come back as the API's problem
 * documents.
 */
import type { Check } from "./check.ts";
import { Problem, type Out } from "./contracts.ts";

/** A problem+json answer (or a network failure as one), for the page to show. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly problem: Out<typeof Problem> | null,
    message: string,
  ) {
    super(message);
  }
}

/** Called when the session is gone for good: the app shows the login page. */
let onSignedOut: () => void = () => undefined;
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

let refreshing: Promise<boolean> | null = null;
function refreshSession(): Promise<boolean> {
  refreshing ??= fetch("/v1/auth/refresh", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => setTimeout(() => (refreshing = null), 0));
  return refreshing;
}

async function problemOf(res: Response): Promise<ApiError> {
  let problem: Out<typeof Problem> | null = null;
  try {
    problem = Problem(await res.json(), "problem");
  } catch {
    // Not a problem document (a proxy's page): the status says enough.
  }
  const fields = problem?.errors?.map((e) => `${e.pointer.replace(/^\//, "") || "body"} ${e.message}`).join("; ");
  return new ApiError(res.status, problem, [problem?.detail ?? problem?.title ?? `${res.status} ${res.statusText}`, fields].filter(Boolean).join(": "));
}

/** Sends a request; `check` parses a JSON answer, none means the body is ignored (204). */
export async function api<T>(method: string, path: string, check?: Check<T>, body?: unknown, retried = false): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, null, `The API did not answer (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (res.status === 401 && !path.startsWith("/v1/auth/")) {
    if (!retried && (await refreshSession())) return api(method, path, check, body, true);
    onSignedOut();
  }
  if (!res.ok) throw await problemOf(res);
  if (!check) return undefined as T;
  return check(await res.json(), `${method} ${path}`);
}

export const get = <T>(path: string, check: Check<T>) => api("GET", path, check);
export const post = <T>(path: string, body: unknown, check?: Check<T>) => api("POST", path, check, body);

/** ws:// or wss:// for a path on this origin. */
export function socketUrl(path: string): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
}
