/**
 * Artifact uploads from runners. With R2's S3 credentials configured the runner reserves a
 * presigned PUT URL (its size, SHA-256 and the uploading job signed into it), uploads straight to
 * R2 and commits; otherwise it streams the artifact through `PUT …/artifacts/:name`, a plain route
 * with a streamed body (not JSON, so not in the OpenAPI document). Either way the body never
 * passes the API's 1 MiB JSON body limit and is never held in memory; ARTIFACT_MAX_MIB caps it
 * from the declared length before anything is stored. Each object records the job that uploaded
 * it and its SHA-256 (custom metadata `jobid`, `kind`, `sha256`), which is what lets a job that
 * `needs` that job download it (runner-needs.ts).
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import {
  ArtifactName,
  ArtifactReserveRequest,
  ArtifactReserveResponse,
  ArtifactUploadHeaders,
  ArtifactUploadResponse,
  ARTIFACT_KIND_HEADER,
  FENCING_TOKEN_HEADER,
  LEASE_ID_HEADER,
  type Lease,
} from "../../core/contracts/runner.ts";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import { presignPut, s3SettingsOf } from "../artifacts/presign.js";
import { authenticateJob } from "../middleware/authenticate-runner.js";
import { buildIdOfJob, refusalError } from "../services/builds.js";
import { json, jsonBody, newRouter, problems } from "./router.js";
import { holderOf, leaseHeaders } from "./runner.js";
import { buildCoordinator } from "../../server/objects/clients.js";
import { artifactKey } from "../../server/r2-keys.js";

export const runnerArtifactRoutes = newRouter();

/** Whether a request is an artifact upload: the app exempts these from its 1 MiB JSON body limit. */
export function isArtifactUpload(method: string, path: string): boolean {
  return method === "PUT" && /^\/v1\/runner\/jobs\/[^/]+\/artifacts\/./.test(path);
}

const MiB = 1024 * 1024;
const JobParams = z.object({ id: z.string().min(1).max(128) });
const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

function refuseOversized(c: Context<AppEnv>, size: number): void {
  if (size > Math.floor(c.var.config.ARTIFACT_MAX_MIB * MiB)) {
    throw new SparkiError("payload_too_large", {
      detail: `Artifacts are limited to ${c.var.config.ARTIFACT_MAX_MIB} MiB (ARTIFACT_MAX_MIB); this one is ${size} bytes.`,
    });
  }
}

/** The R2 key of the job's artifact `name`, once the coordinator has checked the lease. */
async function keyFor(c: Context<AppEnv>, jobId: string, lease: Lease, name: string): Promise<string> {
  const buildId = buildIdOfJob(jobId);
  const owner = await buildCoordinator(c.env, buildId).checkLease(jobId, holderOf(c, lease));
  if ("refused" in owner) throw refusalError(owner);
  return artifactKey(owner.projectId, buildId, name);
}

/** An artifact, streamed to R2 under the build's prefix while its SHA-256 is computed. */
runnerArtifactRoutes.put("/v1/runner/jobs/:id/artifacts/:name{.+}", authenticateJob, async (c) => {
  const id = c.req.param("id");
  const nameCheck = ArtifactName.safeParse(decodeURIComponent(c.req.param("name")));
  if (!nameCheck.success)
    throw new SparkiError("validation", {
      detail: "The artifact name is not allowed.",
      errors: [{ pointer: "path.name", message: nameCheck.error.issues[0]?.message ?? "invalid" }],
    });
  const headers = ArtifactUploadHeaders.safeParse(Object.fromEntries(c.req.raw.headers));
  if (!headers.success) throw new SparkiError("validation", { detail: `Send ${LEASE_ID_HEADER}, ${FENCING_TOKEN_HEADER} and ${ARTIFACT_KIND_HEADER}.` });
  // Refused before anything is read or stored; the stream below holds the body to this length.
  const length = Number(c.req.header("content-length"));
  if (!c.req.raw.body || !Number.isInteger(length) || length < 0) throw new SparkiError("validation", { detail: "Send the artifact with a Content-Length." });
  refuseOversized(c, length);
  const key = await keyFor(c, id, leaseHeaders(c), nameCheck.data);
  const digest = new crypto.DigestStream("SHA-256");
  const [toR2, toDigest] = c.req.raw.body.tee();
  const hashing = toDigest.pipeTo(digest);
  const fixed = new FixedLengthStream(length);
  const copying = toR2.pipeTo(fixed.writable);
  const kind = headers.data["sparki-artifact-kind"];
  const claimed = headers.data["sparki-artifact-sha256"];
  const customMetadata = { kind, jobid: id, ...(claimed ? { sha256: claimed } : {}) };
  await Promise.all([c.env.ARTIFACTS.put(key, fixed.readable, { customMetadata }), copying, hashing]);
  const sha256 = hex(await digest.digest);
  if (claimed && claimed !== sha256) {
    // The bytes are not the ones the runner hashed: nobody may download them as those.
    await c.env.ARTIFACTS.delete(key);
    throw new SparkiError("validation", { detail: `The artifact's SHA-256 is ${sha256}, not the ${claimed} sent.` });
  }
  return c.json({ name: nameCheck.data, size: length, sha256 }, 201);
});

runnerArtifactRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/artifacts/reserve",
    tags: ["runner"],
    summary:
      "Before an upload: a presigned R2 URL for the artifact when R2's S3 credentials are configured, else null (stream it through PUT …/artifacts/:name)",
    security: [{ jobToken: [] }],
    middleware: [authenticateJob],
    request: { params: JobParams, body: jsonBody(ArtifactReserveRequest) },
    responses: { 200: { description: "Where to upload", content: json(ArtifactReserveResponse) }, ...problems(400, 401, 404, 409, 413) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { name, kind, size, sha256, ...lease } = c.req.valid("json");
    refuseOversized(c, size);
    const key = await keyFor(c, id, lease, name);
    const s3 = s3SettingsOf(c.var.config);
    if (!s3) return c.json({ uploadUrl: null, headers: {} }, 200);
    // Signed into the URL: the object can only be these bytes, and names the job that sent them.
    const put = await presignPut(s3, key, 900, { size, sha256Hex: sha256, metadata: { jobid: id, kind, sha256 } });
    return c.json({ uploadUrl: put.url, headers: put.headers }, 200);
  },
);

runnerArtifactRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/runner/jobs/{id}/artifacts/commit",
    tags: ["runner"],
    summary: "After a presigned upload: confirm the stored object is this job's upload of this size and SHA-256",
    security: [{ jobToken: [] }],
    middleware: [authenticateJob],
    request: { params: JobParams, body: jsonBody(ArtifactReserveRequest) },
    responses: { 201: { description: "Stored", content: json(ArtifactUploadResponse) }, ...problems(400, 401, 404, 409, 413) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { name, kind, size, sha256, ...lease } = c.req.valid("json");
    const head = await c.env.ARTIFACTS.head(await keyFor(c, id, lease, name));
    const meta = head?.customMetadata ?? {};
    if (!head || meta.jobid !== id || meta.kind !== kind || meta.sha256 !== sha256 || head.size !== size) {
      throw new SparkiError("not_found", { detail: "No upload of this job for that artifact, size and SHA-256." });
    }
    const stored = head.checksums.sha256;
    if (stored && hex(stored) !== sha256) throw new SparkiError("validation", { detail: "The stored artifact's SHA-256 is not the one sent." });
    return c.json({ name, size, sha256 }, 201);
  },
);
