/**
 * The `state` of the GitHub App install link: a 10-minute HS256 JWT naming the workspace and the
 * user who asked, signed under a key derived from JWT_SECRET for this purpose alone (so it never
 * passes as an access or job token, nor they as it). GitHub hands it back on the setup redirect,
 * which carries no bearer token: the state is what says who asked, for which workspace.
 */
import { jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { SparkiError } from "../../core/errors.js";
import { derivedHmacKey } from "../secrets/derived-key.js";

const issuer = "sparki";
const audience = "sparki-github-install";
export const installStateTtlSeconds = 600;

export interface InstallState {
  workspaceId: string;
  userId: string;
}

/** A verified state: also when it was issued (seconds), which the setup compares with the installation's birth. */
export interface VerifiedInstallState extends InstallState {
  issuedAt: number;
}

const Claims = z.object({ sub: z.uuid(), wid: z.uuid(), iat: z.number().int() });

const keyOf = (secret: string) => derivedHmacKey(secret, "sparki github install state v1");

export async function signInstallState(state: InstallState, secret: string, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ wid: state.workspaceId })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(state.userId)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + installStateTtlSeconds)
    .sign(await keyOf(secret));
}

/** The state's workspace and user; a forged, altered or expired state is one 400 problem. */
export async function verifyInstallState(token: string, secret: string): Promise<VerifiedInstallState> {
  try {
    const { payload } = await jwtVerify(token, await keyOf(secret), { algorithms: ["HS256"], issuer, audience });
    const claims = Claims.parse(payload);
    return { workspaceId: claims.wid, userId: claims.sub, issuedAt: claims.iat };
  } catch (err) {
    throw new SparkiError("validation", {
      detail: "The install link's state is not valid (expired, altered, or not from this instance); start the installation again from Sparki.",
      cause: err,
    });
  }
}
