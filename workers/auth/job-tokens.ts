/**
 * Job tokens: the credential a runner uses for one claimed job (its log socket, heartbeats, step
 * updates, pipeline upload, artifacts, result). A step that reads it can act on its own job and
 * nothing else: the token names the job, the lease, the fencing token and the runner, and the
 * coordinator still checks that lease on every call, so the token dies with the lease. It cannot
 * claim (the claim route takes only runner tokens).
 *
 * Signed with HS256 under a key derived from JWT_SECRET for this purpose alone, so no job token
 * can ever pass as a user's access token (or the reverse), whatever either verifier checks.
 */
import { jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { SparkiError } from "../../core/errors.js";
import { derivedHmacKey } from "../../server/secrets/derived-key.js";

const issuer = "sparki";
export const jobTokenAudience = "sparki-job";

/** What a job token proves: who holds which job under which lease. */
export interface JobHolder {
  jobId: string;
  leaseId: string;
  fencingToken: number;
  runnerId: string;
}

const Claims = z.object({ sub: z.string().min(1).max(128), lid: z.string().min(1).max(128), ftk: z.number().int().positive(), rid: z.uuid() });

// HMAC(JWT_SECRET, label) is the job-token key.
const keyOf = (secret: string) => derivedHmacKey(secret, "sparki job token key v1");

/**
 * Signs a token for `holder`. It expires `ttlSeconds` from now: a ceiling (the job's timeout and
 * one lease); the lease check on every call ends it sooner when the lease goes.
 */
export async function signJobToken(holder: JobHolder, secret: string, ttlSeconds: number, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ lid: holder.leaseId, ftk: holder.fencingToken, rid: holder.runnerId })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(holder.jobId)
    .setIssuer(issuer)
    .setAudience(jobTokenAudience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.max(1, Math.ceil(ttlSeconds)))
    .sign(await keyOf(secret));
}

/** Verifies a job token; any failure is one 401 that tells the runner to stop the job. */
export async function verifyJobToken(token: string, secret: string): Promise<JobHolder> {
  try {
    const { payload } = await jwtVerify(token, await keyOf(secret), { algorithms: ["HS256"], issuer, audience: jobTokenAudience });
    const claims = Claims.parse(payload);
    return { jobId: claims.sub, leaseId: claims.lid, fencingToken: claims.ftk, runnerId: claims.rid };
  } catch (err) {
    throw new SparkiError("invalid_token", { detail: "The job token is not valid (expired, or not this job's); stop the job.", cause: err });
  }
}
