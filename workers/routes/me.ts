import { createRoute } from "@hono/zod-openapi";
import { and, eq, inArray, sql } from "drizzle-orm";
import { ChangePasswordBody, DeleteAccountBody, MeResponse } from "../../core/contracts/auth.js";
import { AccountExport } from "../../core/contracts/export.js";
import { SparkiError } from "../../core/errors.js";
import { roles } from "../../core/rbac.js";
import type { TypedResponse } from "hono";
import type { JSONParsed } from "hono/utils/types";
import { z } from "zod";
import { clearSessionCookies } from "../auth/cookies.js";
import { hashPassword, verifyPassword } from "../auth/passwords.js";
import { refuseCommonPassword } from "../auth/common-passwords.js";
import { keys } from "../../server/cache/keys.js";
import { apiTokens, memberships, projects, users, workspaces } from "../../server/db/schema.js";
import { scrubAuditOf } from "../../server/privacy/audit-scrub.js";
import { connect } from "../../server/db/client.js";
import { openExport } from "../../server/privacy/export.js";
import { describeError } from "../log.js";
import { audit } from "../services/audit.js";
import { projectsDeleted } from "../services/project-removal.js";
import { requireScope } from "../middleware/authenticate.js";
import { revokeAccessToken, revokeAllSessions } from "../services/sessions.js";
import { authed, json, jsonBody, newRouter, problems } from "./router.js";

export const meRoutes = newRouter();

meRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/me",
    tags: ["auth"],
    summary: "The caller and their workspaces",
    ...authed,
    responses: { 200: { description: "The caller", content: json(MeResponse) }, ...problems(401) },
  }),
  async (c) => {
    const db = await c.var.db();
    const rows = await db
      .select({ id: workspaces.id, name: workspaces.name, slug: workspaces.slug, role: memberships.role })
      .from(memberships)
      .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
      .where(eq(memberships.userId, c.var.auth.user.id))
      .orderBy(workspaces.name, workspaces.id);
    const workspaceList = rows.map((r) => ({ ...r, role: z.enum(roles).parse(r.role) }));
    return c.json({ user: c.var.auth.user, workspaces: workspaceList }, 200);
  },
);

meRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/me/export",
    tags: ["auth"],
    summary:
      "Everything Sparki holds about the caller (account, identities, workspaces, GitHub installations, tokens' and sessions' metadata, activity, audit events)",
    description:
      "One JSON document, streamed as it is read: no list is cut, however long. A failure part way ends the response before the document's closing brace (so it does not parse) rather than with a shorter list; ask again.",
    ...authed,
    responses: { 200: { description: "The caller's data", content: json(AccountExport) }, ...problems(401, 403, 404) },
  }),
  async (c) => {
    // An API token below admin may read builds, not the account's whole history.
    requireScope(c, "admin", "exporting the account's data");
    const me = c.var.auth.user.id;
    const { config, log } = c.var;
    const db = await c.var.db();
    // The account is read now; the lists as the client reads, through the stream's own connection.
    const body = await openExport(db, () => connect(config.DATABASE_URL, config.NEON_WS_PROXY), me, new Date(), {
      onError: (err) => log.error("account export failed part way; the response was cut", describeError(err)),
    });
    // Deleted between authentication (which may read a cached user) and now: nothing to export or audit.
    if (!body) throw new SparkiError("not_found", { detail: "The account no longer exists." });
    await audit(c, db, { eventType: "data", action: "user.export", result: "success", resourceType: "user", resourceId: me });
    const streamed = c.body(body, 200, {
      "content-type": "application/json; charset=UTF-8",
      "content-disposition": 'attachment; filename="sparki-export.json"',
      "cache-control": "no-store",
    });
    // The stream is the AccountExport document, written as it is read; the route's type knows
    // only c.json's responses.
    return streamed as unknown as TypedResponse<JSONParsed<AccountExport>, 200, "json">;
  },
);

meRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/me",
    tags: ["auth"],
    summary: "Delete the caller's account (workspaces where they are the only member go with it)",
    ...authed,
    request: { body: jsonBody(DeleteAccountBody) },
    responses: { 204: { description: "Deleted" }, ...problems(400, 401, 409) },
  }),
  async (c) => {
    const { password } = c.req.valid("json");
    requireScope(c, "admin", "deleting the account");
    const me = c.var.auth.user;
    const db = await c.var.db();
    const [row] = await db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, me.id));
    if (!(await verifyPassword(password, row?.passwordHash, c.var.config.BCRYPT_COST))) throw new SparkiError("invalid_credentials");

    // The outer row's column is spelled out: drizzle writes a lone column of a one-table select
    // unqualified, which inside the subquery would mean m's own (every membership anywhere).
    const outerWorkspace = sql`${memberships}.${sql.identifier("workspace_id")}`;
    const owned = await db
      .select({
        workspaceId: memberships.workspaceId,
        otherMembers: sql<number>`(select count(*)::int from ${memberships} m where m.workspace_id = ${outerWorkspace} and m.user_id <> ${me.id})`,
        otherOwners: sql<number>`(select count(*)::int from ${memberships} m where m.workspace_id = ${outerWorkspace} and m.user_id <> ${me.id} and m.role = 'owner')`,
      })
      .from(memberships)
      .where(and(eq(memberships.userId, me.id), eq(memberships.role, "owner")));
    const stranded = owned.filter((w) => w.otherMembers > 0 && w.otherOwners === 0);
    if (stranded.length > 0) {
      throw new SparkiError("last_owner", {
        detail: `You are the last owner of ${stranded.length} workspace(s) with other members; make someone else an owner first.`,
      });
    }
    const myTokens = await db.select({ tokenHash: apiTokens.tokenHash }).from(apiTokens).where(eq(apiTokens.userId, me.id));
    const solo = owned.filter((w) => w.otherMembers === 0).map((w) => w.workspaceId);
    const removedProjects = await db.transaction(async (tx) => {
      const gone = solo.length > 0 ? await tx.select({ id: projects.id }).from(projects).where(inArray(projects.workspaceId, solo)) : [];
      for (const workspaceId of solo) await tx.delete(workspaces).where(eq(workspaces.id, workspaceId));
      await audit(c, tx, {
        eventType: "data",
        action: "user.delete",
        result: "success",
        userId: null,
        resourceType: "user",
        resourceId: me.id,
        details: { deletedWorkspaces: solo },
      });
      // The events stay; the person's data in them goes (this one's IP too). Before the user row
      // goes, which unlinks the events they did.
      await scrubAuditOf(tx, me);
      await tx.delete(users).where(eq(users.id, me.id));
      return gone.map((p) => p.id);
    });
    // The projects of the workspaces that went with the account: sites stop, R2 objects are purged.
    await projectsDeleted(c, removedProjects);
    await c.var.cache.remove(keys.user(me.id), keys.permissions(me.id), ...myTokens.map((t) => keys.apiToken(t.tokenHash)));
    if (c.var.auth.jti && c.var.auth.expiresAt) await revokeAccessToken(c, c.var.auth.jti, c.var.auth.expiresAt);
    clearSessionCookies(c);
    return c.body(null, 204);
  },
);

meRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/me/password",
    tags: ["auth"],
    summary: "Change the password; every session and refresh token of the account ends (log in again)",
    ...authed,
    request: { body: jsonBody(ChangePasswordBody) },
    responses: { 204: { description: "Changed" }, ...problems(400, 401, 403) },
  }),
  async (c) => {
    const { currentPassword, newPassword } = c.req.valid("json");
    await refuseCommonPassword(c.env.ASSETS, newPassword, "newPassword");
    requireScope(c, "admin", "changing the password");
    const me = c.var.auth.user;
    const db = await c.var.db();
    const [row] = await db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, me.id));
    if (!(await verifyPassword(currentPassword, row?.passwordHash, c.var.config.BCRYPT_COST))) {
      await audit(c, db, { eventType: "auth", action: "auth.password_change", result: "failure", userId: me.id, details: { reason: "wrong_password" } });
      throw new SparkiError("invalid_credentials", { detail: "The current password is wrong." });
    }
    await db
      .update(users)
      .set({ passwordHash: await hashPassword(newPassword, c.var.config.BCRYPT_COST), updatedAt: new Date() })
      .where(eq(users.id, me.id));
    await revokeAllSessions(c, db, me.id);
    await audit(c, db, { eventType: "auth", action: "auth.password_change", result: "success", userId: me.id });
    clearSessionCookies(c);
    return c.body(null, 204);
  },
);

meRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/me/sessions",
    tags: ["auth"],
    summary: "Log out everywhere: every access token and refresh token of the account stops working (API tokens stay)",
    ...authed,
    responses: { 204: { description: "Every session ended" }, ...problems(401, 403) },
  }),
  async (c) => {
    requireScope(c, "admin", "logging out everywhere");
    const db = await c.var.db();
    await revokeAllSessions(c, db, c.var.auth.user.id);
    await audit(c, db, { eventType: "auth", action: "auth.logout_everywhere", result: "success", userId: c.var.auth.user.id });
    clearSessionCookies(c);
    return c.body(null, 204);
  },
);
