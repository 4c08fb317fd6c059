import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { getCookie } from "hono/cookie";
import { LoginBody, LogoutBody, RefreshBody, Session, SignupAccepted, SignupBody } from "../../core/contracts/auth.js";
import { SparkiError } from "../../core/errors.js";
import { accessCookie, clearSessionCookies, refreshCookie } from "../auth/cookies.js";
import { verifyAccessToken } from "../auth/jwt.js";
import { countLoginAttempt, loginSucceeded } from "../auth/login-limits.js";
import { requireDashboardOrigin } from "../auth/origin.js";
import { hashPassword, verifyPassword } from "../auth/passwords.js";
import { refuseCommonPassword } from "../auth/common-passwords.js";
import { hashToken } from "../auth/tokens.js";
import { refreshTokens, users } from "../../server/db/schema.js";
import { clientIp } from "../middleware/context.js";
import { audit, auditOutcome } from "../services/audit.js";
import { issueSession, revokeAccessToken, revokeFamily, rotateRefreshToken } from "../services/sessions.js";
import { loadUser, profileOf, toUserView } from "../services/users.js";
import { json, jsonBody, newRouter, problems } from "./router.js";

export const authRoutes = newRouter();

const accepted = { status: "accepted", detail: "If this email was not registered yet, the account now exists. Log in with its email and password." } as const;

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/signup",
    tags: ["auth"],
    summary: "Create an account (the answer is the same whether or not the email is registered; log in next)",
    request: { body: jsonBody(SignupBody) },
    responses: { 202: { description: "Accepted", content: json(SignupAccepted) }, ...problems(400, 413) },
  }),
  async (c) => {
    const { email, password, name } = c.req.valid("json");
    await refuseCommonPassword(c.env.ASSETS, password, "password");
    const db = await c.var.db();
    // The same work either way (a hash, an insert attempt, an audit row), so neither the answer
    // nor its timing tells whether the email has an account.
    const passwordHash = await hashPassword(password, c.var.config.BCRYPT_COST);
    await db.transaction(async (tx) => {
      const [row] = await tx.insert(users).values({ email, name, passwordHash }).onConflictDoNothing().returning({ id: users.id });
      if (row) {
        await audit(c, tx, { eventType: "auth", action: "auth.signup", result: "success", userId: row.id, resourceType: "user", resourceId: row.id });
      } else {
        await audit(c, tx, { eventType: "auth", action: "auth.signup", result: "failure", userId: null, details: { reason: "email_registered" } });
      }
    });
    return c.json(accepted, 202);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/login",
    tags: ["auth"],
    summary: "Log in with email and password",
    description: '`session: "cookie"` (the dashboard) keeps the tokens in HttpOnly cookies and out of the answer.',
    request: { body: jsonBody(LoginBody) },
    responses: { 200: { description: "Logged in", content: json(Session) }, ...problems(400, 401, 403, 429) },
  }),
  async (c) => {
    const { email, password, session } = c.req.valid("json");
    // Logging a browser into someone else's account (login CSRF) is refused like any other write.
    if (session === "cookie") requireDashboardOrigin(c);
    const ip = clientIp((n) => c.req.header(n));
    await countLoginAttempt(c, email, ip);

    const db = await c.var.db();
    const [row] = await db.select().from(users).where(eq(users.email, email));
    if (!(await verifyPassword(password, row?.passwordHash, c.var.config.BCRYPT_COST)) || !row) {
      await auditOutcome(c, { eventType: "auth", action: "auth.login", result: "failure", userId: row?.id ?? null, details: { email } });
      throw new SparkiError("invalid_credentials");
    }
    await loginSucceeded(c, email, ip);
    const user = toUserView(row);
    await audit(c, db, { eventType: "auth", action: "auth.login", result: "success", userId: user.id });
    return c.json(await issueSession(c, db, user, session), 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/refresh",
    tags: ["auth"],
    summary: "Trade a refresh token for a new session (the old token stops working)",
    description: "A token from the body is answered with tokens; one from the cookie only with new cookies.",
    request: { body: { content: json(RefreshBody), required: false } },
    responses: { 200: { description: "A new session", content: json(Session) }, ...problems(400, 401, 403) },
  }),
  async (c) => {
    const fromBody = c.req.valid("json").refreshToken;
    const fromCookie = fromBody === undefined ? getCookie(c, refreshCookie) : undefined;
    if (fromCookie !== undefined) requireDashboardOrigin(c);
    const presented = fromBody ?? fromCookie;
    if (!presented) throw new SparkiError("unauthenticated", { detail: "Send the refresh token in the body or its cookie." });
    const db = await c.var.db();
    const { userId, familyId } = await rotateRefreshToken(c, db, presented);
    const user = await loadUser(db, c.var.cache, userId);
    if (!user) throw new SparkiError("invalid_token", { detail: "The token's user no longer exists." });
    await audit(c, db, { eventType: "auth", action: "auth.refresh", result: "success", userId });
    return c.json(await issueSession(c, db, profileOf(user), fromCookie !== undefined ? "cookie" : "token", familyId), 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/logout",
    tags: ["auth"],
    summary: "End a session: revokes the refresh token's family and the access token presented (bearer or cookie)",
    request: { body: { content: json(LogoutBody), required: false } },
    responses: { 204: { description: "Logged out" }, ...problems(400, 403) },
  }),
  async (c) => {
    const refreshFromCookie = getCookie(c, refreshCookie);
    const accessFromCookie = getCookie(c, accessCookie);
    if (refreshFromCookie !== undefined || accessFromCookie !== undefined) requireDashboardOrigin(c);
    const presented = c.req.valid("json").refreshToken ?? refreshFromCookie;
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    const db = await c.var.db();
    let userId: string | null = null;
    if (presented) {
      const [row] = await db
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, await hashToken(presented)));
      if (row) {
        await revokeFamily(db, row.familyId);
        userId = row.userId;
      }
    }
    for (const access of [bearer, accessFromCookie]) {
      if (!access) continue;
      const claims = await verifyAccessToken(access, c.var.config.JWT_SECRET).catch(() => undefined);
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
