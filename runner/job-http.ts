/**
 * What the runner's per-job HTTP clients (caches, artifacts) share: a fetch whose network failure
 * is a NetworkError (retryable, naming the host), a non-2xx answer as an HttpError carrying the
 * problem's detail and Retry-After, and a leased JSON POST whose answer is parsed with zod.
 */
import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { z } from "zod";
import { HttpError, NetworkError } from "./http-errors.ts";

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

/**
 * PUTs `body` with its Content-Length, streamed with backpressure (node:http: fetch would want the
 * whole body or a chunked one). A connection lost mid-body, or a server that answers early and
 * closes, ends in a NetworkError here, never in an unhandled rejection that stops the runner.
 */
export async function putStream(
  target: string,
  headers: Record<string, string>,
  body: AsyncIterable<Uint8Array>,
  size: number,
  signal: AbortSignal,
  what: string,
): Promise<{ status: number; text: string; retryAfter: string | null }> {
  const url = new URL(target);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  const req = request(url, { method: "PUT", headers: { ...headers, "content-length": String(size) }, signal });
  const answer = new Promise<{ status: number; text: string; retryAfter: string | null }>((resolve, reject) => {
    req.once("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.once("end", () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString("utf8"), retryAfter: res.headers["retry-after"] ?? null }),
      );
      res.once("error", reject);
    });
    req.once("error", (err) => reject(signal.aborted ? err : new NetworkError(`${what} to ${url.host} failed: ${err.message}`, { cause: err })));
  });
  // The answer may come, or fail, while the body is still being written (a server that refuses
  // early, a dropped connection): then writing stops, and a failure is thrown below, not unhandled.
  let settled = false;
  answer.then(
    () => (settled = true),
    () => (settled = true),
  );
  try {
    for await (const chunk of body) {
      if (settled) break;
      if (!req.write(chunk)) await Promise.race([once(req, "drain"), answer]);
    }
    req.end();
  } catch (err) {
    req.destroy();
    // The request's own error says more than the write's (EPIPE) and is already a NetworkError.
    const failed = await answer.then(
      () => null,
      (e: unknown) => e,
    );
    throw failed ?? err;
  }
  return answer;
}
