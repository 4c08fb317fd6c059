import { and, eq, gt, isNull } from "drizzle-orm";
import type { Context } from "hono";
import type { Session } from "../../core/contracts/auth.js";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv, AuthenticatedUser } from "../app-env.js";
import { refreshTokenTtlSeconds, setSessionCookies } from "../auth/cookies.js";
import { accessTokenTtlSeconds, signAccessToken } from "../auth/jwt.js";
import { hashToken, newToken } from "../auth/tokens.js";
import { keys } from "../../server/cache/keys.js";
import type { Db } from "../../server/db/client.js";
import { refreshTokens, users } from "../../server/db/schema.js";
import { audit } from "./audit.js";
import { loadUser } from "./users.js";

/**
 * Issues an access token and a refresh token (a new family at login, the same family on
 * rotation). A `cookie` session puts them in the browser's HttpOnly cookies and leaves them out
 * of the answer, where a script on the page could read them; a `token` session returns them.
 */
export async function issueSession(
  c: Context<AppEnv>,
  db: Db,
  user: AuthenticatedUser,
  mode: "token" | "cookie",
  familyId = crypto.randomUUID(),
): Promise<Session> {
  const refreshToken = newToken("refresh");
  await db.insert(refreshTokens).values({
    userId: user.id,
    familyId,
    tokenHash: await hashToken(refreshToken),
    expiresAt: new Date(Date.now() + refreshTokenTtlSeconds * 1000),
  });
  const { token: accessToken } = await signAccessToken(user.id, c.var.config.JWT_SECRET);
  if (mode === "cookie") {
    setSessionCookies(c, accessToken, refreshToken);
    return { user, expiresIn: accessTokenTtlSeconds };
  }
  return { user, accessToken, refreshToken, expiresIn: accessTokenTtlSeconds };
}

/**
 * Rotates a refresh token. The conditional update makes rotation atomic: of two requests with
 * the same token only one wins. A token that was already rotated is a replay, so its whole
 * family (every token descended from that login) is revoked.
 */
export async function rotateRefreshToken(c: Context<AppEnv>, db: Db, presented: string): Promise<{ userId: string; familyId: string }> {
  const tokenHash = await hashToken(presented);
  const [rotated] = await db
    .update(refreshTokens)
    .set({ rotatedAt: new Date() })
    .where(
      and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.rotatedAt), isNull(refreshTokens.revokedAt), gt(refreshTokens.expiresAt, new Date())),
    )
    .returning({ userId: refreshTokens.userId, familyId: refreshTokens.familyId });
  if (rotated) return rotated;

  const [known] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash));
  if (known?.rotatedAt && !known.revokedAt) {
    await revokeFamily(db, known.familyId);
    await audit(c, db, {
      eventType: "auth",
      action: "auth.refresh_reuse",
      result: "denied",
      userId: known.userId,
      details: { familyId: known.familyId },
    });
    throw new SparkiError("invalid_token", { detail: "This refresh token was already used; every session of that login was revoked. Log in again." });
  }
  throw new SparkiError("invalid_token", { detail: "The refresh token is not valid, expired or revoked. Log in again." });
}

export async function revokeFamily(db: Db, familyId: string): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

/**
 * Ends every session of a user: access tokens issued before now are refused (the cached profile
 * carries the time, so checking costs no extra round trip) and every refresh family is revoked.
 * Personal API tokens are not sessions and stay until deleted.
 */
export async function revokeAllSessions(c: Context<AppEnv>, db: Db, userId: string): Promise<void> {
  // The Worker's clock, not Postgres's: access tokens carry the Worker's time of issue.
  const now = new Date(Date.now());
  await db.transaction(async (tx) => {
    await tx.update(users).set({ sessionsRevokedAt: now }).where(eq(users.id, userId));
    await tx
      .update(refreshTokens)
      .set({ revokedAt: now })
      .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
  });
  // Rewritten rather than dropped, so the next request finds the revocation without a query.
  await loadUser(db, c.var.cache, userId);
}

/** Revokes an access token until it would have expired anyway. */
export async function revokeAccessToken(c: Context<AppEnv>, jti: string, expiresAt: number): Promise<void> {
  const remaining = expiresAt - Math.floor(Date.now() / 1000);
  if (remaining <= 0) return;
  try {
    await c.var.cache.redis.set(keys.revokedAccessToken(jti), "1", { ex: remaining });
  } catch (err) {
    c.var.cache.reportError("revoke", err);
    throw new SparkiError("internal", { detail: "The access token could not be revoked; try logging out again.", cause: err });
  }
}
