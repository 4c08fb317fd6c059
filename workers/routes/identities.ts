/** The caller's GitHub and GitLab sign-ins: list them, link one, unlink one (never the last way in). */
import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { Identities, LinkStart, OAuthProvider } from "../../core/contracts/oauth.js";
import { SparkiError } from "../../core/errors.js";
import { userIdentities, users } from "../../server/db/schema.js";
import { requireScope } from "../middleware/authenticate.js";
import { audit } from "../services/audit.js";
import { unlinkIdentity } from "../services/identities.js";
import { beginFlow } from "../services/oauth-flows.js";
import { authed, json, newRouter, problems } from "./router.js";

export const identityRoutes = newRouter();

identityRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/me/identities",
    tags: ["auth"],
    summary: "The GitHub and GitLab accounts the caller signs in with, and whether they have a password",
    ...authed,
    responses: { 200: { description: "The caller's identities", content: json(Identities) }, ...problems(401) },
  }),
  async (c) => {
    const me = c.var.auth.user;
    const db = await c.var.db();
    const [rows, [user]] = await Promise.all([
      db.select().from(userIdentities).where(eq(userIdentities.userId, me.id)).orderBy(userIdentities.provider),
      db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, me.id)),
    ]);
    const items = rows.map((r) => ({ provider: OAuthProvider.parse(r.provider), login: r.login, email: r.email, linkedAt: r.linkedAt.toISOString() }));
    return c.json({ items, hasPassword: (user?.passwordHash ?? null) !== null }, 200);
  },
);

identityRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/me/identities/{provider}",
    tags: ["auth"],
    summary: "Stop signing in with GitHub or GitLab; refused (409) when it is the account's last way in",
    ...authed,
    request: { params: z.object({ provider: OAuthProvider }) },
    responses: { 204: { description: "Unlinked" }, ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const { provider } = c.req.valid("param");
    requireScope(c, "admin", "unlinking a sign-in");
    const me = c.var.auth.user;
    const db = await c.var.db();
    const outcome = await unlinkIdentity(db, me.id, provider);
    if (outcome === "none") throw new SparkiError("not_found", { detail: `No ${provider} account is linked to yours.` });
    if (outcome === "last_way_in") {
      throw new SparkiError("conflict", {
        detail: `Signing in with ${provider} is this account's only way in: link another provider first (the account has no password).`,
      });
    }
    await audit(c, db, {
      eventType: "auth",
      action: "auth.identity_unlink",
      result: "success",
      userId: me.id,
      resourceType: "user",
      resourceId: me.id,
      details: { provider },
    });
    return c.body(null, 204);
  },
);

identityRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/me/identities/{provider}",
    tags: ["auth"],
    summary: "Start linking a GitHub or GitLab account to the caller's: answers the provider's URL to send the browser to",
    description:
      "For the dashboard (it binds the flow to the browser with a cookie). Back from the provider, an account with a password confirms it at /login/link; one without links at once. The provider account must not be another user's.",
    ...authed,
    request: { params: z.object({ provider: OAuthProvider }) },
    responses: { 200: { description: "Where to send the browser", content: json(LinkStart) }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { provider } = c.req.valid("param");
    requireScope(c, "admin", "linking a sign-in");
    const url = await beginFlow(c, provider, { returnTo: "/account", linkUserId: c.var.auth.user.id });
    return c.json({ url: url.toString() }, 200);
  },
);
