/**
 * Artifact uploads from runners: a plain route with a streamed body (not JSON, so not in the
 * OpenAPI document). The upload carries its job's lease in headers, which the coordinator checks.
 * The body streams to R2 (never held in memory) under ARTIFACT_MAX_MIB, not the API's 1 MiB
 * JSON body limit; an upload over it is refused from its Content-Length before anything is stored.
 */
import { ArtifactName, ArtifactUploadHeaders, ARTIFACT_KIND_HEADER, FENCING_TOKEN_HEADER, LEASE_ID_HEADER } from "../../core/contracts/runner.ts";
import { SparkiError } from "../../core/errors.js";
import { authenticateJob } from "../middleware/authenticate-runner.js";
import { buildIdOfJob, refusalError } from "../services/builds.js";
import { newRouter } from "./router.js";
import { holderOf, leaseHeaders } from "./runner.js";
import { buildCoordinator } from "../../server/objects/clients.js";
import { artifactKey } from "../../server/r2-keys.js";

export const runnerArtifactRoutes = newRouter();

/** Whether a request is an artifact upload: the app exempts these from its 1 MiB JSON body limit. */
export function isArtifactUpload(method: string, path: string): boolean {
  return method === "PUT" && /^\/v1\/runner\/jobs\/[^/]+\/artifacts\/./.test(path);
}

const MiB = 1024 * 1024;

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
  const maxBytes = Math.floor(c.var.config.ARTIFACT_MAX_MIB * MiB);
  if (length > maxBytes)
    throw new SparkiError("payload_too_large", {
      detail: `Artifacts are limited to ${c.var.config.ARTIFACT_MAX_MIB} MiB (ARTIFACT_MAX_MIB); this one is ${length} bytes.`,
    });
  const lease = holderOf(c, leaseHeaders(c));
  const buildId = buildIdOfJob(id);
  const owner = await buildCoordinator(c.env, buildId).checkLease(id, lease);
  if ("refused" in owner) throw refusalError(owner);
  const digest = new crypto.DigestStream("SHA-256");
  const [toR2, toDigest] = c.req.raw.body.tee();
  const hashing = toDigest.pipeTo(digest);
  const fixed = new FixedLengthStream(length);
  const copying = toR2.pipeTo(fixed.writable);
  const key = artifactKey(owner.projectId, buildId, nameCheck.data);
  const kind = c.req.header(ARTIFACT_KIND_HEADER) ?? "file";
  await Promise.all([c.env.ARTIFACTS.put(key, fixed.readable, { customMetadata: { kind, jobId: id } }), copying, hashing]);
  const sha256 = [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return c.json({ name: nameCheck.data, size: length, sha256 }, 201);
});
