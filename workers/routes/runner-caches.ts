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
import {
  CacheCommitRequest,
  CacheLookupRequest,
  CacheLookupResponse,
  CACHE_KEY_HEADER,
  CacheReserveRequest,
  CacheReserveResponse,
  CacheSaveResponse,
  CacheUploadHeaders,
  type CacheEntry,
} from "../../core/contracts/runner.ts";
import { SparkiError } from "../../core/errors.js";
import type { Context } from "hono";
import type { AppEnv } from "../app-env.js";
import type { Db } from "../../server/db/client.js";
import { presignGet, presignPut, s3SettingsOf } from "../artifacts/presign.js";
import { authenticateJob } from "../middleware/authenticate-runner.js";
import { recordCacheBytes, recordCacheLookup } from "../metrics.js";
import { buildIdOfJob, refusalError } from "../services/builds.js";
import { json, jsonBody, newRouter, problems } from "./router.js";
import { holderOf, leaseHeaders } from "./runner.js";
import { buildCoordinator } from "../../server/objects/clients.js";
import { type CacheEntryRow, entryExists, entryInScopes, evict, findEntry, recordEntry, scopesOfBuild } from "../../server/caches/entries.js";
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

/** R2's S3 settings when all are configured: then archives move by presigned URLs. */
const s3Settings = (c: Context<AppEnv>) => s3SettingsOf(c.var.config);

function refuseOversized(c: Context<AppEnv>, size: number): void {
  if (size > Math.floor(c.var.config.CACHE_ENTRY_MAX_MIB * MiB)) {
    throw new SparkiError("payload_too_large", {
      detail: `A cache entry is limited to ${c.var.config.CACHE_ENTRY_MAX_MIB} MiB (CACHE_ENTRY_MAX_MIB); this one is ${size} bytes.`,
    });
  }
}

/** Records a stored archive, then deletes what it replaced and what eviction takes. */
async function recordStored(c: Context<AppEnv>, db: Db, entry: Omit<CacheEntryRow, "createdAt" | "lastUsedAt">): Promise<CacheEntry> {
  const gone = await recordEntry(db, entry);
  gone.push(...(await evict(db, entry.projectId, Math.floor(c.var.config.CACHE_PROJECT_MAX_MIB * MiB), entry.id)));
  if (gone.length > 0) await c.env.ARTIFACTS.delete(gone.map((row) => cacheEntryKey(entry.projectId, row.id)));
  recordCacheBytes("saved", entry.sizeBytes);
  return asEntry({ ...entry, createdAt: new Date(), lastUsedAt: new Date() });
}

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
  const s3 = s3Settings(c);
  if (s3) {
    // With R2's S3 credentials the archive goes straight from R2 to the runner (which follows the
    // redirect and checks size and SHA-256 all the same), not through the Worker.
    recordCacheBytes("restored", row.sizeBytes);
    return c.redirect(await presignGet(s3, key, 300), 302);
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
  refuseOversized(c, length);
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
  return c.json(await recordStored(c, db, entry), 201);
});

runnerCacheRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/caches/reserve",
    tags: ["runner"],
    summary: "Before a save: a presigned R2 upload URL for the archive when R2's S3 credentials are configured, else null (stream it through PUT …/caches)",
    security: [{ jobToken: [] }],
    middleware: [authenticateJob],
    request: { params: JobParams, body: jsonBody(CacheReserveRequest) },
    responses: { 200: { description: "Where to upload", content: json(CacheReserveResponse) }, ...problems(400, 401, 404, 409, 413) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { key, size, sha256, ...lease } = c.req.valid("json");
    refuseOversized(c, size);
    const { projectId } = await jobScopes(c, id, lease);
    const entryId = crypto.randomUUID();
    const s3 = s3Settings(c);
    if (!s3) return c.json({ entryId, uploadUrl: null, headers: {} }, 200);
    // Signed into the URL: the object can only be this size and digest, and names the job and key.
    const put = await presignPut(s3, cacheEntryKey(projectId, entryId), 900, { size, sha256Hex: sha256, metadata: { jobid: id, cachekey: key } });
    return c.json({ entryId, uploadUrl: put.url, headers: put.headers }, 200);
  },
);

runnerCacheRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/caches/commit",
    tags: ["runner"],
    summary: "After a presigned upload: record the entry, once the stored object proves to be this job's upload of this key and size",
    security: [{ jobToken: [] }],
    middleware: [authenticateJob],
    request: { params: JobParams, body: jsonBody(CacheCommitRequest) },
    responses: { 201: { description: "Saved", content: json(CacheSaveResponse) }, ...problems(400, 401, 404, 409, 413) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { key, size, sha256, entryId, ...lease } = c.req.valid("json");
    refuseOversized(c, size);
    const { db, projectId, scopes } = await jobScopes(c, id, lease);
    const head = await c.env.ARTIFACTS.head(cacheEntryKey(projectId, entryId));
    const meta = head?.customMetadata ?? {};
    // Only the object this job uploaded for this key, and never one an entry already names.
    if (!head || meta.jobid !== id || meta.cachekey !== key || head.size !== size || (await entryExists(db, entryId))) {
      throw new SparkiError("not_found", { detail: "No upload of this job for that entry and key." });
    }
    const stored = head.checksums.sha256;
    if (stored && [...new Uint8Array(stored)].map((b) => b.toString(16).padStart(2, "0")).join("") !== sha256) {
      throw new SparkiError("validation", { detail: "The stored archive's SHA-256 is not the one sent." });
    }
    const entry = { id: entryId, projectId, scope: scopes.write, key, sizeBytes: size, sha256 };
    return c.json(await recordStored(c, db, entry), 201);
  },
);
