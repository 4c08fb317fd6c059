/**
 * Sign in with GitHub or GitLab (OAuth 2.0 authorization code with PKCE S256 and state).
 *
 * `start` keeps the flow server-side (oauth_flows: the state's hash, the PKCE verifier, the hash
 * of a nonce put in the browser's cookie) and sends the browser to the provider. The `callback`
 * takes the row away as it reads it (a state works once) only if the nonce cookie matches (the
 * browser that started is the one that finishes, so nobody can log a victim into their own
 * account with a callback URL), trades the code, and then: an account already linked signs in;
 * a new one with a verified email nobody uses becomes an account; one whose email has an account
 * waits, in a signed cookie, for that account's password (`POST /v1/auth/oauth/link`).
 *
 * A flow the account page began (POST /v1/me/identities/:provider) names the signed-in user who
 * asked, and ends in {@link linkRequested} instead.
 *
 * The callback is a browser navigation, so its failures go back to the login page (the account
 * page for a link) with `?oauth_error=<reason>` (the dashboard words it), never a 500 and never a session.
 */
import { createRoute } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { Session } from "../../core/contracts/auth.js";
import { AuthProviders, ConfirmLinkBody, OAuthCallbackQuery, OAuthProvider, OAuthStartQuery, PendingLink } from "../../core/contracts/oauth.js";
import { SparkiError } from "../../core/errors.js";
import type { Db } from "../../server/db/client.js";
import { oauthFlows, userIdentities, users } from "../../server/db/schema.js";
import { configuredProviders, type ProviderAccount, type ProviderName } from "../../server/sign-in/providers.js";
import type { AppEnv } from "../app-env.js";
import { clearFlowCookie, clearLinkCookie, readFlowCookie, readLinkCookie, setLinkCookie } from "../auth/oauth-cookies.js";
import { countLoginAttempt, loginSucceeded } from "../auth/login-limits.js";
import { requireDashboardOrigin } from "../auth/origin.js";
import { verifyPassword } from "../auth/passwords.js";
import { hashToken } from "../auth/tokens.js";
import { clientIp } from "../middleware/context.js";
import { audit, auditOutcome } from "../services/audit.js";
import { linkIdentity, resolveAccount } from "../services/identities.js";
import { beginFlow, callbackUrl, providerOr404 } from "../services/oauth-flows.js";
import { issueSession } from "../services/sessions.js";
import { toUserView } from "../services/users.js";
import { json, jsonBody, newRouter, problems } from "./router.js";

export const oauthRoutes = newRouter();

const ProviderParam = z.object({ provider: OAuthProvider });

/** Why a callback failed, as the login page's `oauth_error` names it. */
export type CallbackFailure = "denied" | "state" | "expired" | "browser" | "provider" | "unverified_email" | "taken";

oauthRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/auth/providers",
    tags: ["auth"],
    summary: "How one can log in here: always a password; GitHub and GitLab when configured",
    responses: { 200: { description: "The login methods", content: json(AuthProviders) } },
  }),
  (c) => c.json({ password: true as const, oauth: configuredProviders(c.var.config) }, 200),
);

oauthRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/auth/oauth/{provider}/start",
    tags: ["auth"],
    summary: "Sign in with GitHub or GitLab: redirects the browser to the provider with state and a PKCE challenge",
    description:
      "For browsers (the dashboard's buttons). Sets a short-lived HttpOnly cookie that binds the flow to this browser. `returnTo` is a path on this site to land on afterwards.",
    request: { params: ProviderParam, query: OAuthStartQuery },
    responses: { 302: { description: "To the provider's authorization page" }, ...problems(400, 404) },
  }),
  async (c) => {
    const { provider: name } = c.req.valid("param");
    const { returnTo = "/" } = c.req.valid("query");
    const url = await beginFlow(c, name, { returnTo });
    return c.redirect(url.toString(), 302);
  },
);

oauthRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/auth/oauth/{provider}/callback",
    tags: ["auth"],
    summary: "Where the provider sends the browser back: signs in, creates the account, or asks for the password to link",
    description:
      "Register this URL as the OAuth callback. Only completes in the browser that started the flow, once. Failures redirect to `/login?oauth_error=denied|state|expired|browser|provider|unverified_email` (`/account?oauth_error=…|taken` for a link the account page asked for); an email that already has an account redirects to `/login/link`, where its password links the two.",
    request: { params: ProviderParam, query: OAuthCallbackQuery },
    responses: { 303: { description: "To the dashboard: signed in, the link page, or the login page with the reason" }, ...problems(400, 404) },
  }),
  async (c) => {
    const { provider: name } = c.req.valid("param");
    const query = c.req.valid("query");
    const provider = providerOr404(c, name);
    const db = await c.var.db();
    const nonce = readFlowCookie(c);
    clearFlowCookie(c);
    // Where a refusal goes: the login page, or the account page for a link it asked for.
    let back = "/login";
    const fail = async (reason: CallbackFailure, details: Record<string, unknown> = {}) => {
      await auditOutcome(c, {
        eventType: "auth",
        action: "auth.oauth_login",
        result: "failure",
        userId: null,
        details: { provider: name, reason, ...details },
      });
      return c.redirect(`${back}?oauth_error=${reason}`, 303);
    };

    if (!query.state) return fail("state");
    const stateHash = await hashToken(query.state);
    // Taken only together with this browser's nonce: a callback replayed elsewhere burns nothing.
    const [flow] = nonce
      ? await db
          .delete(oauthFlows)
          .where(and(eq(oauthFlows.stateHash, stateHash), eq(oauthFlows.browserHash, await hashToken(nonce)), eq(oauthFlows.provider, name)))
          .returning()
      : [];
    if (!flow) {
      const [elsewhere] = await db.select({ at: oauthFlows.createdAt }).from(oauthFlows).where(eq(oauthFlows.stateHash, stateHash));
      return fail(elsewhere ? "browser" : "state");
    }
    if (flow.linkUserId) back = "/account";
    if (flow.expiresAt.getTime() < Date.now()) return fail("expired");
    if (query.error) return fail(query.error === "access_denied" ? "denied" : "provider", { error: query.error });
    if (!query.code) return fail("provider", { error: "no code" });

    let account: ProviderAccount;
    try {
      account = await provider.account({ code: query.code, codeVerifier: flow.codeVerifier, redirectUri: callbackUrl(c, name) });
    } catch (err) {
      c.get("log").warn(`sign in with ${name}: the provider refused or failed`, { error: err instanceof Error ? err.message : String(err) });
      return fail("provider");
    }
    if (flow.linkUserId) return linkRequested(c, db, flow.linkUserId, name, account, fail);
    const outcome = await resolveAccount(db, name, account);
    if (outcome.kind === "unverified_email") return fail("unverified_email", { login: account.login });
    if (outcome.kind === "confirm_link") {
      await setLinkCookie(
        c,
        { sub: outcome.user.id, provider: name, pid: account.id, login: account.login, email: outcome.user.email },
        c.var.config.JWT_SECRET,
      );
      return c.redirect("/login/link", 303);
    }
    const user = toUserView(outcome.user);
    await audit(c, db, {
      eventType: "auth",
      action: outcome.created ? "auth.signup" : "auth.login",
      result: "success",
      userId: user.id,
      details: { provider: name, login: account.login },
    });
    await issueSession(c, db, user, "cookie");
    return c.redirect(flow.returnTo, 303);
  },
);

oauthRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/auth/oauth/link",
    tags: ["auth"],
    summary: "The provider account waiting to be linked in this browser (from the callback), if any",
    responses: { 200: { description: "The pending link", content: json(PendingLink) }, ...problems(404) },
  }),
  async (c) => {
    const pending = await readLinkCookie(c, c.var.config.JWT_SECRET);
    if (!pending) throw new SparkiError("not_found", { detail: "Nothing waits to be linked: sign in with GitHub or GitLab again." });
    return c.json({ provider: pending.provider, login: pending.login, email: pending.email }, 200);
  },
);

oauthRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/auth/oauth/link",
    tags: ["auth"],
    summary: "Link the pending provider account to the existing account with its email, with that account's password; signs in",
    description: "Only from the dashboard (the pending link is an HttpOnly cookie the callback set in this browser).",
    request: { body: jsonBody(ConfirmLinkBody) },
    responses: { 200: { description: "Linked and signed in", content: json(Session) }, ...problems(400, 401, 403, 404, 409, 429) },
  }),
  async (c) => {
    const { password } = c.req.valid("json");
    requireDashboardOrigin(c);
    const pending = await readLinkCookie(c, c.var.config.JWT_SECRET);
    if (!pending) throw new SparkiError("not_found", { detail: "Nothing waits to be linked: sign in with GitHub or GitLab again." });
    const db = await c.var.db();
    const [row] = await db.select().from(users).where(eq(users.id, pending.sub));
    // The password is guessed against like a login: the same limits, per email and address.
    const ip = clientIp((n) => c.req.header(n));
    await countLoginAttempt(c, pending.email, ip);
    if (!row || !(await verifyPassword(password, row.passwordHash, c.var.config.BCRYPT_COST))) {
      await auditOutcome(c, {
        eventType: "auth",
        action: "auth.identity_link",
        result: "failure",
        userId: row?.id ?? null,
        details: { provider: pending.provider },
      });
      throw new SparkiError("invalid_credentials", { detail: "The password is wrong." });
    }
    await loginSucceeded(c, pending.email, ip);
    const linked = await linkIdentity(db, row.id, pending.provider, { id: pending.pid, login: pending.login, email: pending.email });
    if (linked === "taken") {
      throw new SparkiError("conflict", {
        detail: `This ${pending.provider} account is linked to another Sparki account, or yours already has another ${pending.provider} account: unlink that one first.`,
      });
    }
    clearLinkCookie(c);
    const user = toUserView(row);
    await audit(c, db, {
      eventType: "auth",
      action: "auth.identity_link",
      result: "success",
      userId: user.id,
      resourceType: "user",
      resourceId: user.id,
      details: { provider: pending.provider, login: pending.login },
    });
    return c.json(await issueSession(c, db, user, "cookie"), 200);
  },
);

/**
 * The end of a link the account page asked for (POST /v1/me/identities/:provider): the flow names
 * the signed-in user who asked, and the provider account is the one just authorized in this
 * browser. An account with a password confirms it first (/login/link), as when signing in by
 * email; one without a password has no other proof to give and links on the session that asked.
 */
async function linkRequested(
  c: Context<AppEnv>,
  db: Db,
  userId: string,
  name: ProviderName,
  account: ProviderAccount,
  fail: (reason: CallbackFailure, details?: Record<string, unknown>) => Promise<Response>,
): Promise<Response> {
  const [user] = await db.select().from(users).where(eq(users.id, userId));
  if (!user) return fail("state");
  const [holder] = await db
    .select({ userId: userIdentities.userId })
    .from(userIdentities)
    .where(and(eq(userIdentities.provider, name), eq(userIdentities.providerUserId, account.id)));
  if (holder && holder.userId !== user.id) return fail("taken", { login: account.login });
  if (holder) return c.redirect(`/account?linked=${name}`, 303);
  if (user.passwordHash !== null) {
    await setLinkCookie(c, { sub: user.id, provider: name, pid: account.id, login: account.login, email: user.email }, c.var.config.JWT_SECRET);
    return c.redirect("/login/link", 303);
  }
  const linked = await linkIdentity(db, user.id, name, { id: account.id, login: account.login, email: account.email });
  if (linked === "taken") return fail("taken", { login: account.login });
  await audit(c, db, {
    eventType: "auth",
    action: "auth.identity_link",
    result: "success",
    userId: user.id,
    resourceType: "user",
    resourceId: user.id,
    details: { provider: name, login: account.login },
  });
  return c.redirect(`/account?linked=${name}`, 303);
}
