/** Cache calls of a held job, as a runner makes them (runner/cache-client.ts), for route and attacker tests. */
import { SELF } from "cloudflare:test";
import type { CacheLookupResponse, Job } from "../../core/contracts/runner.ts";
import { call, type ApiResponse } from "./api.js";
import { lease } from "./runner.js";

const leaseHeaders = (job: Job) => ({
  authorization: `Bearer ${job.jobToken}`,
  "sparki-lease-id": job.leaseId,
  "sparki-fencing-token": String(job.fencingToken),
});

export function lookupCache(job: Job, key: string, restoreKeys: string[] = []): Promise<ApiResponse<CacheLookupResponse>> {
  return call("POST", `/v1/runner/jobs/${job.jobId}/caches/lookup`, { token: job.jobToken, body: { ...lease(job), key, restoreKeys } });
}

export function saveCache(
  job: Job,
  key: string,
  body: Uint8Array | ReadableStream<Uint8Array>,
  size: number,
  extra: Record<string, string> = {},
): Promise<Response> {
  return SELF.fetch(`http://sparki.test/v1/runner/jobs/${job.jobId}/caches`, {
    method: "PUT",
    headers: { ...leaseHeaders(job), "sparki-cache-key": key, "content-length": String(size), ...extra },
    body,
  });
}

export function downloadCache(job: Job, entryId: string): Promise<Response> {
  return SELF.fetch(`http://sparki.test/v1/runner/jobs/${job.jobId}/caches/${entryId}`, { headers: leaseHeaders(job) });
}

/** `size` bytes that differ per `seed`. */
export const bytes = (size: number, seed = 1) => new Uint8Array(size).map((_, i) => (i * seed) % 251);

export async function sha256(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
