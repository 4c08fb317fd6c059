import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { ReadableStream as WebStream } from "node:stream/web";
import type { z } from "zod";
import {
  CACHE_KEY_HEADER,
  CACHE_SCOPE_HEADER,
  CacheLookupResponse,
  CacheReserveResponse,
  CacheSaveResponse,
  type CacheEntry,
  type CacheLookupResponse as Lookup,
  type Lease,
} from "../core/contracts/runner.ts";
import { HttpError, type ControlPlaneClient } from "./client.ts";
import { failure, postLeased, putStream, send } from "./job-http.ts";

const enc = encodeURIComponent;

export class CacheClient {
  constructor(
    private readonly client: ControlPlaneClient,
    private readonly jobId: string,
    private readonly lease: Lease,
  ) {}

  private url(path: string) {
    return `${this.client.baseUrl}/v1/runner/jobs/${enc(this.jobId)}/caches${path}`;
  }

  async lookup(key: string, restoreKeys: readonly string[], signal: AbortSignal): Promise<Lookup> {
    const res = await send(this.url("/lookup"), {
      method: "POST",
      headers: { ...this.client.headers(), "content-type": "application/json" },
      body: JSON.stringify({ ...this.lease, key, restoreKeys }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
    });
    if (!res.ok) throw await failure(res);
    const parsed = CacheLookupResponse.safeParse(await res.json().catch(() => null));
    if (!parsed.success) throw new HttpError(502, `unexpected cache lookup answer: ${parsed.error.message}`, null);
    return parsed.data;
  }

  /** The entry's archive as a stream. */
  async download(entryId: string, signal: AbortSignal): Promise<Readable> {
    const res = await send(this.url(`/${enc(entryId)}`), { headers: this.client.headers(this.lease), signal });
    if (!res.ok || !res.body) throw await failure(res);
    return Readable.fromWeb(res.body as WebStream<Uint8Array>);
  }

  /** Asks where to upload an archive: a presigned R2 URL, or null to stream it through the API. */
  async reserve(key: string, size: number, sha256: string, signal: AbortSignal): Promise<CacheReserveResponse> {
    return this.json("/reserve", { key, size, sha256 }, CacheReserveResponse, signal);
  }

  /** Records an archive uploaded to the reserved presigned URL. */
  async commit(entryId: string, key: string, size: number, sha256: string, signal: AbortSignal): Promise<CacheEntry> {
    return this.json("/commit", { entryId, key, size, sha256 }, CacheSaveResponse, signal);
  }

  private json<T>(path: string, body: object, schema: z.ZodType<T>, signal: AbortSignal): Promise<T> {
    return postLeased(this.url(path), this.client.headers(), this.lease, body, schema, signal);
  }

  /** Sends the archive in `file` (`size` bytes) through the API to be saved under `key`; `scope`, when known, is checked by the server. */
  async upload(key: string, scope: string | null, file: string, size: number, signal: AbortSignal): Promise<CacheEntry> {
    const headers = {
      ...this.client.headers(this.lease),
      [CACHE_KEY_HEADER]: key,
      ...(scope ? { [CACHE_SCOPE_HEADER]: scope } : {}),
      "content-type": "application/gzip",
    };
    const text = await putFile(this.url(""), headers, file, size, signal);
    const parsed = CacheSaveResponse.safeParse(JSON.parse(text));
    if (!parsed.success) throw new HttpError(502, `unexpected cache save answer: ${parsed.error.message}`, null);
    return parsed.data;
  }

  /** Sends the archive straight to R2 on a presigned URL, with the headers that were signed. */
  async uploadPresigned(url: string, headers: Record<string, string>, file: string, size: number, signal: AbortSignal): Promise<void> {
    await putFile(url, headers, file, size, signal);
  }
}

/**
 * PUTs a file with its Content-Length, streamed with backpressure (node:http: fetch would want
 * the whole body or a chunked one); returns the answer's text, or throws {@link HttpError}.
 */
export async function putFile(target: string, headers: Record<string, string>, file: string, size: number, signal: AbortSignal): Promise<string> {
  const { status, text } = await putStream(target, headers, createReadStream(file), size, signal, "upload");
  if (status < 200 || status >= 300) {
    let detail = text.slice(0, 500);
    try {
      detail = (JSON.parse(text) as { detail?: string }).detail ?? detail;
    } catch {
      // Not problem+json (R2's XML error, a proxy's page): keep the text.
    }
    throw new HttpError(status, detail, null);
  }
  return text;
}
