import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { SparkiError } from "../../core/errors.js";
import { scopeCovers, scopeOfMethod, scopes } from "../../core/scopes.js";
import type { AppEnv, AuthContext } from "../app-env.js";
import { accessCookie } from "../auth/cookies.js";
import { verifyAccessToken } from "../auth/jwt.js";
import { requireDashboardOrigin } from "../auth/origin.js";
import { hashToken, tokenPrefix } from "../auth/tokens.js";
import { keys, ttl } from "../../server/cache/keys.js";
import { apiTokens, users } from "../../server/db/schema.js";
import { CachedUser, loadUser, profileOf, toUserView, UserProfile } from "../services/users.js";

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);
const CachedApiToken = z.object({ tokenId: z.uuid(), user: UserProfile, expiresAt: z.number().nullable(), scope: z.enum(scopes) });

/** Cache keys a route will read, fetched together with the caller's own entries. */
export type Prefetch = (c: Context<AppEnv>) => string[];

/**
 * Requires a caller: a bearer access token, a personal API token (`spk_…`), or the browser's
 * HttpOnly access cookie. Cookie-authenticated writes and WebSocket upgrades must come from the
 * dashboard's own origin (CSRF, cross-site WebSocket hijacking). An API token's scope must cover
 * the method (a read token never writes); routes narrow further by permission. The caller's
 * cache entries (revocation, profile, roles) and the route's `prefetch` keys are read in one
 * round trip.
 */
export function authenticateWith(prefetch: Prefetch) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    let auth: AuthContext;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match?.[1]) throw new SparkiError("invalid_token", { detail: "The Authorization header must be 'Bearer <token>'." });
      const token = match[1];
      auth = token.startsWith(tokenPrefix.api) ? await fromApiToken(c, token, prefetch(c)) : await fromAccessToken(c, token, "access-token", prefetch(c));
    } else {
      const cookie = getCookie(c, accessCookie);
      if (!cookie) throw new SparkiError("unauthenticated", { detail: "Send 'Authorization: Bearer <token>' or log in." });
      if (!safeMethods.has(c.req.method) || c.req.header("upgrade")?.toLowerCase() === "websocket") requireDashboardOrigin(c);
      auth = await fromAccessToken(c, cookie, "cookie", prefetch(c));
    }
    if (!scopeCovers(auth.scope, scopeOfMethod(c.req.method))) {
      throw new SparkiError("forbidden", { detail: `This API token has the '${auth.scope}' scope, which cannot change anything.` });
    }
    c.set("auth", auth);
    c.get("log").fields.userId = auth.user.id;
    await next();
  });
}

/** Authentication for routes that read nothing else from the cache up front. */
export const authenticate = authenticateWith(() => []);

async function fromAccessToken(c: Context<AppEnv>, token: string, via: AuthContext["via"], extra: string[]): Promise<AuthContext> {
  const { JWT_SECRET } = c.get("config");
  const claims = await verifyAccessToken(token, JWT_SECRET);
  const cache = c.get("cache");
  await cache.prefetch([keys.revokedAccessToken(claims.jti), keys.user(claims.userId), keys.permissions(claims.userId), ...extra]);
  const [revoked, cachedUser] = await cache.readMany<[z.ZodLiteral<1>, typeof CachedUser]>([
    [keys.revokedAccessToken(claims.jti), z.literal(1)],
    [keys.user(claims.userId), CachedUser],
  ]);
  if (revoked) throw new SparkiError("invalid_token", { detail: "The access token was revoked by a logout." });
  const user = cachedUser ?? (await loadUser(await c.get("db")(), cache, claims.userId));
  if (!user) throw new SparkiError("invalid_token", { detail: "The token's user no longer exists." });
  if (user.sessionsRevokedAt !== null && claims.issuedAtMs < user.sessionsRevokedAt) {
    throw new SparkiError("invalid_token", { detail: "Every session of this account was ended (password change or log out everywhere); log in again." });
  }
  return { user: profileOf(user), via, scope: "admin", jti: claims.jti, expiresAt: claims.expiresAt };
}

async function fromApiToken(c: Context<AppEnv>, token: string, extra: string[]): Promise<AuthContext> {
  const hash = await hashToken(token);
  const cache = c.get("cache");
  await cache.prefetch([keys.apiToken(hash), ...extra]);
  let entry = await cache.read(keys.apiToken(hash), CachedApiToken);
  if (!entry) {
    const db = await c.get("db")();
    const [row] = await db
      .select({
        tokenId: apiTokens.id,
        expiresAt: apiTokens.expiresAt,
        scope: apiTokens.scope,
        id: users.id,
        email: users.email,
        name: users.name,
        createdAt: users.createdAt,
      })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(eq(apiTokens.tokenHash, hash));
    if (!row) throw new SparkiError("invalid_token", { detail: "The API token is not valid or was deleted." });
    entry = { tokenId: row.tokenId, user: toUserView(row), expiresAt: row.expiresAt ? row.expiresAt.getTime() : null, scope: z.enum(scopes).parse(row.scope) };
    await cache.fill(keys.apiToken(hash), entry, ttl.apiToken);
    // Recorded when the token is loaded, so last use is accurate to the cache TTL (5 minutes).
    await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.tokenId));
  }
  if (entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
    throw new SparkiError("invalid_token", { detail: "The API token has expired." });
  }
  return { user: entry.user, via: "api-token", scope: entry.scope, tokenId: entry.tokenId };
}

/** Refuses a caller whose token scope does not reach `needed` (sessions have every scope). */
export function requireScope(c: Context<AppEnv>, needed: (typeof scopes)[number], what: string): void {
  const held = c.var.auth.scope;
  if (!scopeCovers(held, needed)) throw new SparkiError("forbidden", { detail: `This API token has the '${held}' scope; ${what} needs '${needed}'.` });
}
