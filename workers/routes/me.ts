import { createRoute } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { DeleteAccountBody, MeResponse } from "../../core/contracts/auth.js";
import { SparkiError } from "../../core/errors.js";
import { roles } from "../../core/rbac.js";
import { z } from "zod";
import { clearSessionCookies } from "../auth/cookies.js";
import { verifyPassword } from "../auth/passwords.js";
import { keys } from "../cache/keys.js";
import { apiTokens, memberships, users, workspaces } from "../db/schema.js";
import { audit } from "../services/audit.js";
import { revokeAccessToken } from "../services/sessions.js";
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
    const me = c.var.auth.user;
    const db = await c.var.db();
    const [row] = await db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, me.id));
    if (!(await verifyPassword(password, row?.passwordHash, c.var.config.BCRYPT_COST))) throw new SparkiError("invalid_credentials");

    const owned = await db
      .select({
        workspaceId: memberships.workspaceId,
        otherMembers: sql<number>`(select count(*)::int from ${memberships} m where m.workspace_id = ${memberships.workspaceId} and m.user_id <> ${me.id})`,
        otherOwners: sql<number>`(select count(*)::int from ${memberships} m where m.workspace_id = ${memberships.workspaceId} and m.user_id <> ${me.id} and m.role = 'owner')`,
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
    await db.transaction(async (tx) => {
      for (const workspaceId of solo) await tx.delete(workspaces).where(eq(workspaces.id, workspaceId));
      await tx.delete(users).where(eq(users.id, me.id));
      await audit(c, tx, { eventType: "data", action: "user.delete", result: "success", userId: null, resourceType: "user", resourceId: me.id, details: { deletedWorkspaces: solo } });
    });
    await c.var.cache.remove(
      keys.user(me.id),
      keys.permissions(me.id),
      ...myTokens.map((t) => keys.apiToken(t.tokenHash)),
    );
    if (c.var.auth.jti && c.var.auth.expiresAt) await revokeAccessToken(c, c.var.auth.jti, c.var.auth.expiresAt);
    clearSessionCookies(c);
    return c.body(null, 204);
  },
);

