import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { LoginBody, LogoutBody, RefreshBody, Session, SignupBody } from "../../core/contracts/auth.js";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import { clearSessionCookies, refreshCookie } from "../auth/cookies.js";
import { verifyAccessToken } from "../auth/jwt.js";
import { hashPassword, verifyPassword } from "../auth/passwords.js";
import { hashToken } from "../auth/tokens.js";
import { defineRateLimit, hitRateLimit, type RateLimitRule } from "../cache/rate-limit.js";
import { refreshTokens, users } from "../db/schema.js";
import { clientIp } from "../middleware/context.js";
import { audit, auditOutcome } from "../services/audit.js";
import { issueSession, revokeAccessToken, revokeFamily, rotateRefreshToken } from "../services/sessions.js";
import { loadUser, toUserView } from "../services/users.js";
import { json, jsonBody, newRouter, problems } from "./router.js";

const loginPerIp = defineRateLimit({ scope: "login-ip", limit: 30, windowSeconds: 60 });
const loginPerEmail = defineRateLimit({ scope: "login-email", limit: 10, windowSeconds: 300 });

export const authRoutes = newRouter();

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/signup",
    tags: ["auth"],
    summary: "Create an account",
    request: { body: jsonBody(SignupBody) },
    responses: { 201: { description: "Signed up and logged in", content: json(Session) }, ...problems(400, 409, 413) },
  }),
  async (c) => {
    const { email, password, name } = c.req.valid("json");
    const db = await c.var.db();
    const passwordHash = await hashPassword(password, c.var.config.BCRYPT_COST);
    const session = await db.transaction(async (tx) => {
      const [row] = await tx.insert(users).values({ email, name, passwordHash }).onConflictDoNothing().returning();
      if (!row) throw new SparkiError("conflict", { detail: "An account with this email already exists; log in instead." });
      const user = toUserView(row);
      await audit(c, tx, { eventType: "auth", action: "auth.signup", result: "success", userId: user.id, resourceType: "user", resourceId: user.id });
      return issueSession(c, tx, user);
    });
    return c.json(session, 201);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/login",
    tags: ["auth"],
    summary: "Log in with email and password",
    request: { body: jsonBody(LoginBody) },
    responses: { 200: { description: "Logged in", content: json(Session) }, ...problems(400, 401, 429) },
  }),
  async (c) => {
    const { email, password } = c.req.valid("json");
    const ip = clientIp((n) => c.req.header(n));
    await enforce(c, loginPerEmail, email);
    if (ip) await enforce(c, loginPerIp, ip);

    const db = await c.var.db();
    const [row] = await db.select().from(users).where(eq(users.email, email));
    if (!(await verifyPassword(password, row?.passwordHash, c.var.config.BCRYPT_COST)) || !row) {
      await auditOutcome(c, { eventType: "auth", action: "auth.login", result: "failure", userId: row?.id ?? null, details: { email } });
      throw new SparkiError("invalid_credentials");
    }
    const user = toUserView(row);
    await audit(c, db, { eventType: "auth", action: "auth.login", result: "success", userId: user.id });
    return c.json(await issueSession(c, db, user), 200);
  },
);

async function enforce(c: Context<AppEnv>, rule: RateLimitRule, subject: string): Promise<void> {
  const verdict = await hitRateLimit(c.var.cache, rule, subject);
  if (verdict.allowed) return;
  await auditOutcome(c, { eventType: "auth", action: "auth.login", result: "denied", userId: null, details: { reason: "rate_limited", scope: rule.scope } });
  throw new SparkiError("rate_limited", { detail: `Too many login attempts; try again in ${verdict.resetAfter} s.`, retryAfter: verdict.resetAfter });
}

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/refresh",
    tags: ["auth"],
    summary: "Trade a refresh token for a new session (the old token stops working)",
    request: { body: { content: json(RefreshBody), required: false } },
    responses: { 200: { description: "A new session", content: json(Session) }, ...problems(400, 401) },
  }),
  async (c) => {
    const presented = c.req.valid("json").refreshToken ?? getCookie(c, refreshCookie);
    if (!presented) throw new SparkiError("unauthenticated", { detail: "Send the refresh token in the body or its cookie." });
    const db = await c.var.db();
    const { userId, familyId } = await rotateRefreshToken(c, db, presented);
    const user = await loadUser(db, c.var.cache, userId);
    if (!user) throw new SparkiError("invalid_token", { detail: "The token's user no longer exists." });
    await audit(c, db, { eventType: "auth", action: "auth.refresh", result: "success", userId });
    return c.json(await issueSession(c, db, user, familyId), 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/logout",
    tags: ["auth"],
    summary: "End a session: revokes the refresh token's family and the access token presented",
    request: { body: { content: json(LogoutBody), required: false } },
    responses: { 204: { description: "Logged out" }, ...problems(400) },
  }),
  async (c) => {
    const presented = c.req.valid("json").refreshToken ?? getCookie(c, refreshCookie);
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    const db = await c.var.db();
    let userId: string | null = null;
    if (presented) {
      const [row] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, await hashToken(presented)));
      if (row) {
        await revokeFamily(db, row.familyId);
        userId = row.userId;
      }
    }
    if (bearer) {
      const claims = await verifyAccessToken(bearer, c.var.config.JWT_SECRET).catch(() => undefined);
      if (claims) {
        await revokeAccessToken(c, claims.jti, claims.expiresAt);
        userId ??= claims.userId;
      }
    }
    clearSessionCookies(c);
    if (userId) await audit(c, db, { eventType: "auth", action: "auth.logout", result: "success", userId });
    return c.body(null, 204);
  },
);
