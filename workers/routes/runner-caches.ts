/**
 * Dependency caches for runners (runner/cache.ts), on the job's token: look an entry up by key
 * and restore prefixes, download it, save one. The scopes come from the build's row
 * (server/caches/scopes.ts), never from the runner, so a pull request's job cannot write where
 * the default branch reads. Archives stream between runner and R2 through the Worker (never held
 * in memory), under CACHE_ENTRY_MAX_MIB rather than the API's 1 MiB JSON body limit (a download
 * redirects to a presigned R2 URL when R2's S3 credentials are configured); a project's
 * entries are kept under CACHE_PROJECT_MAX_MIB by evicting the least recently used.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { CacheLookupRequest, CacheLookupResponse, CACHE_KEY_HEADER, CacheUploadHeaders, type CacheEntry } from "../../core/contracts/runner.ts";
import { SparkiError } from "../../core/errors.js";
import type { Context } from "hono";
import type { AppEnv } from "../app-env.js";
import { presignGet } from "../artifacts/presign.js";
import { authenticateJob } from "../middleware/authenticate-runner.js";
import { recordCacheBytes, recordCacheLookup } from "../metrics.js";
import { buildIdOfJob, refusalError } from "../services/builds.js";
import { json, jsonBody, newRouter, problems } from "./router.js";
import { holderOf, leaseHeaders } from "./runner.js";
import { buildCoordinator } from "../../server/objects/clients.js";
import { type CacheEntryRow, entryInScopes, evict, findEntry, recordEntry, scopesOfBuild } from "../../server/caches/entries.js";
import { cacheEntryKey } from "../../server/r2-keys.js";

export const runnerCacheRoutes = newRouter();

/** Whether a request is a cache upload: the app exempts these from its 1 MiB JSON body limit. */
export function isCacheUpload(method: string, path: string): boolean {
  return method === "PUT" && /^\/v1\/runner\/jobs\/[^/]+\/caches$/.test(path);
}

const MiB = 1024 * 1024;
const JobParams = z.object({ id: z.string().min(1).max(128) });

/** The job's project and its build's cache scopes, once the coordinator has checked the lease. */
async function jobScopes(c: Context<AppEnv>, jobId: string, lease: { leaseId: string; fencingToken: number }) {
  const buildId = buildIdOfJob(jobId);
  const owner = await buildCoordinator(c.env, buildId).checkLease(jobId, holderOf(c, lease));
  if ("refused" in owner) throw refusalError(owner);
  const db = await c.var.db();
  const scopes = await scopesOfBuild(db, owner.projectId, buildId);
  if (!scopes) throw new SparkiError("not_found", { detail: "The job's build is gone." });
  return { db, projectId: owner.projectId, scopes };
}

const asEntry = (row: CacheEntryRow): CacheEntry => ({ id: row.id, key: row.key, scope: row.scope, size: row.sizeBytes, sha256: row.sha256 });

runnerCacheRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/caches/lookup",
    tags: ["runner"],
    summary: "Find the cache entry a job restores: its key, else the newest entry of a restore prefix, in the build's scopes",
    security: [{ jobToken: [] }],
    middleware: [authenticateJob],
    request: { params: JobParams, body: jsonBody(CacheLookupRequest) },
    responses: { 200: { description: "The entry, or null", content: json(CacheLookupResponse) }, ...problems(400, 401, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { key, restoreKeys, ...lease } = c.req.valid("json");
    const { db, projectId, scopes } = await jobScopes(c, id, lease);
    const found = await findEntry(db, projectId, scopes.read, key, restoreKeys);
    recordCacheLookup(found !== null);
    return c.json({ entry: found ? asEntry(found.entry) : null, exact: found?.exact ?? false, writeScope: scopes.write }, 200);
  },
);

/** One entry's archive, streamed from R2. */
runnerCacheRoutes.get("/v1/runner/jobs/:id/caches/:entryId", authenticateJob, async (c) => {
  const id = c.req.param("id");
  const entryId = z.uuid().safeParse(c.req.param("entryId"));
  if (!entryId.success) throw new SparkiError("not_found", { detail: "No such cache entry." });
  const { db, projectId, scopes } = await jobScopes(c, id, leaseHeaders(c));
  const row = await entryInScopes(db, projectId, scopes.read, entryId.data);
  // Another project's entry, or a scope this build may not read: the same answer as none.
  if (!row) throw new SparkiError("not_found", { detail: "No such cache entry." });
  const key = cacheEntryKey(projectId, row.id);
  const { R2_S3_ENDPOINT: endpoint, R2_ACCESS_KEY_ID: accessKeyId, R2_SECRET_ACCESS_KEY: secretAccessKey, R2_BUCKET_NAME: bucket } = c.var.config;
  if (endpoint && accessKeyId && secretAccessKey) {
    // With R2's S3 credentials the archive goes straight from R2 to the runner (which follows the
    // redirect and checks size and SHA-256 all the same), not through the Worker.
    recordCacheBytes("restored", row.sizeBytes);
    return c.redirect(await presignGet({ endpoint, bucket, accessKeyId, secretAccessKey }, key, 300), 302);
  }
  const object = await c.env.ARTIFACTS.get(key);
  if (!object) throw new SparkiError("not_found", { detail: "The cache entry's archive is gone." });
  recordCacheBytes("restored", object.size);
  return new Response(object.body, {
    headers: { "content-type": "application/gzip", "content-length": String(object.size), "sparki-cache-sha256": row.sha256 },
  });
});

/** Saves an archive under the key in the build's own scope, streamed to R2 while it is hashed. */
runnerCacheRoutes.put("/v1/runner/jobs/:id/caches", authenticateJob, async (c) => {
  const id = c.req.param("id");
  const headers = CacheUploadHeaders.safeParse(Object.fromEntries(c.req.raw.headers));
  if (!headers.success) {
    throw new SparkiError("validation", {
      detail: `Send the lease headers and a valid ${CACHE_KEY_HEADER}.`,
      errors: headers.error.issues.map((i) => ({ pointer: `header.${String(i.path[0] ?? "")}`, message: i.message })),
    });
  }
  // Refused before anything is read or stored; the stream below holds the body to this length.
  const length = Number(c.req.header("content-length"));
  if (!c.req.raw.body || !Number.isInteger(length) || length <= 0) throw new SparkiError("validation", { detail: "Send the archive with a Content-Length." });
  const maxBytes = Math.floor(c.var.config.CACHE_ENTRY_MAX_MIB * MiB);
  if (length > maxBytes) {
    throw new SparkiError("payload_too_large", {
      detail: `A cache entry is limited to ${c.var.config.CACHE_ENTRY_MAX_MIB} MiB (CACHE_ENTRY_MAX_MIB); this one is ${length} bytes.`,
    });
  }
  const h = headers.data;
  const { db, projectId, scopes } = await jobScopes(c, id, { leaseId: h["sparki-lease-id"], fencingToken: h["sparki-fencing-token"] });
  const asked = h["sparki-cache-scope"];
  if (asked !== undefined && asked !== scopes.write) {
    throw new SparkiError("forbidden", { detail: `This build saves caches only to ${scopes.write}; ${asked} is read-only to it.` });
  }
  const entryId = crypto.randomUUID();
  const digest = new crypto.DigestStream("SHA-256");
  const [toR2, toDigest] = c.req.raw.body.tee();
  const hashing = toDigest.pipeTo(digest);
  const fixed = new FixedLengthStream(length);
  const copying = toR2.pipeTo(fixed.writable);
  const objectKey = cacheEntryKey(projectId, entryId);
  await Promise.all([c.env.ARTIFACTS.put(objectKey, fixed.readable, { customMetadata: { jobId: id } }), copying, hashing]);
  const sha256 = [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const entry = { id: entryId, projectId, scope: scopes.write, key: h["sparki-cache-key"], sizeBytes: length, sha256 };
  const gone = await recordEntry(db, entry);
  gone.push(...(await evict(db, projectId, Math.floor(c.var.config.CACHE_PROJECT_MAX_MIB * MiB), entryId)));
  if (gone.length > 0) await c.env.ARTIFACTS.delete(gone.map((row) => cacheEntryKey(projectId, row.id)));
  recordCacheBytes("saved", length);
  return c.json(asEntry({ ...entry, createdAt: new Date(), lastUsedAt: new Date() }), 201);
});
