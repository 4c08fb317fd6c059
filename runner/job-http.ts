/**
 * What the runner's per-job HTTP clients (caches, artifacts) share: a fetch whose network failure
 * is a NetworkError (retryable, naming the host), a non-2xx answer as an HttpError carrying the
 * problem's detail and Retry-After, and a leased JSON POST whose answer is parsed with zod.
 */
import type { z } from "zod";
import { HttpError, NetworkError } from "./client.ts";

/** The HttpError for a non-2xx answer: problem+json's detail (or the text), and Retry-After. */
export async function failure(res: Response): Promise<HttpError> {
  const text = await res.text().catch(() => "");
  let detail = text.slice(0, 500) || res.statusText;
  try {
    const problem = JSON.parse(text) as { detail?: unknown };
    if (typeof problem.detail === "string") detail = problem.detail;
  } catch {
    // Not problem+json (R2's XML error, a proxy's page): keep the text.
  }
  const after = Number(res.headers.get("retry-after"));
  return new HttpError(res.status, detail, Number.isFinite(after) && after > 0 ? after * 1000 : null);
}

/** fetch, with a failure to connect as a NetworkError (an abort stays an abort). */
export async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw new NetworkError(`cannot reach ${new URL(url).host}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** POSTs `body` (the job's lease added) as JSON and parses the answer; 30 s at most. */
export async function postLeased<T>(
  url: string,
  headers: Record<string, string>,
  lease: object,
  body: object,
  schema: z.ZodType<T>,
  signal: AbortSignal,
): Promise<T> {
  const res = await send(url, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ ...lease, ...body }),
    signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
  });
  if (!res.ok) throw await failure(res);
  const parsed = schema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new HttpError(502, `unexpected answer to ${new URL(url).pathname}: ${parsed.error.message}`, null);
  return parsed.data;
}
