import { createRoute } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { AddMemberBody, Member, UpdateMemberBody } from "../../core/contracts/workspaces.js";
import { SparkiError } from "../../core/errors.js";
import { canAssignRole, roles, type Role } from "../../core/rbac.js";
import type { Db } from "../../server/db/client.js";
import { memberships, users } from "../../server/db/schema.js";
import { audit } from "../services/audit.js";
import { authorize, forgetRoles } from "../services/access.js";
import { authed, json, jsonBody, newRouter, problems } from "./router.js";

export const memberRoutes = newRouter();
const WorkspaceParams = z.object({ id: z.uuid() });
const MemberParams = z.object({ id: z.uuid(), userId: z.uuid() });
const RoleEnum = z.enum(roles);

type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

async function memberView(db: Db | Tx, workspaceId: string, userId: string) {
  const [row] = await db
    .select({ userId: users.id, email: users.email, name: users.name, role: memberships.role, joinedAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)));
  return row ? { ...row, role: RoleEnum.parse(row.role), joinedAt: row.joinedAt.toISOString() } : undefined;
}

/**
 * Locks the workspace's owner rows and refuses a change that would leave it without an owner.
 * The lock serialises two owners demoting each other at the same moment.
 */
async function assertOwnerRemains(tx: Tx, workspaceId: string, losingOwner: string): Promise<void> {
  const owners = await tx.execute<{ user_id: string }>(
    sql`select user_id from ${memberships} where workspace_id = ${workspaceId} and role = 'owner' for update`,
  );
  if (owners.rows.filter((o) => o.user_id !== losingOwner).length === 0) {
    throw new SparkiError("last_owner", { detail: "This is the workspace's last owner; make another member an owner first." });
  }
}

memberRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/workspaces/{id}/members",
    tags: ["members"],
    summary: "The workspace's members",
    ...authed,
    request: { params: WorkspaceParams },
    responses: { 200: { description: "Members", content: json(z.object({ items: z.array(Member) })) }, ...problems(401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await authorize(c, id, "members:read", { type: "workspace", id });
    const db = await c.var.db();
    const rows = await db
      .select({ userId: users.id, email: users.email, name: users.name, role: memberships.role, joinedAt: memberships.createdAt })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.workspaceId, id))
      .orderBy(memberships.createdAt, users.id);
    return c.json({ items: rows.map((r) => ({ ...r, role: RoleEnum.parse(r.role), joinedAt: r.joinedAt.toISOString() })) }, 200);
  },
);

memberRoutes.openapi(
  createRoute({
    method: "post",
    path: "/v1/workspaces/{id}/members",
    tags: ["members"],
    summary: "Add a teammate by the email of their Sparki account",
    ...authed,
    request: { params: WorkspaceParams, body: jsonBody(AddMemberBody) },
    responses: { 201: { description: "Added", content: json(Member) }, ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { email, role } = c.req.valid("json");
    const actor = await authorize(c, id, "members:manage", { type: "workspace", id });
    if (!canAssignRole(actor, undefined, role)) throw new SparkiError("forbidden", { detail: "Only an owner can make someone an owner." });
    const db = await c.var.db();
    const [invitee] = await db.select({ id: users.id }).from(users).where(eq(users.email, email));
    if (!invitee) {
      throw new SparkiError("not_found", { detail: `No Sparki account uses ${email}; ask them to sign up first, then add them.` });
    }
    const member = await db.transaction(async (tx) => {
      const [inserted] = await tx.insert(memberships).values({ workspaceId: id, userId: invitee.id, role }).onConflictDoNothing().returning();
      if (!inserted) throw new SparkiError("conflict", { detail: `${email} is already a member of this workspace.` });
      await audit(c, tx, {
        eventType: "data",
        action: "member.add",
        result: "success",
        workspaceId: id,
        resourceType: "user",
        resourceId: invitee.id,
        details: { email, role },
      });
      return memberView(tx, id, invitee.id);
    });
    await forgetRoles(c, invitee.id);
    return c.json(member, 201);
  },
);

memberRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/v1/workspaces/{id}/members/{userId}",
    tags: ["members"],
    summary: "Change a member's role",
    ...authed,
    request: { params: MemberParams, body: jsonBody(UpdateMemberBody) },
    responses: { 200: { description: "Updated", content: json(Member) }, ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => {
    const { id, userId } = c.req.valid("param");
    const { role } = c.req.valid("json");
    const actor = await authorize(c, id, "members:manage", { type: "workspace", id });
    const db = await c.var.db();
    const member = await db.transaction(async (tx) => {
      const current = await currentRole(tx, id, userId);
      if (!canAssignRole(actor, current, role)) throw new SparkiError("forbidden", { detail: "Only an owner can grant or take away ownership." });
      if (current === "owner" && role !== "owner") await assertOwnerRemains(tx, id, userId);
      await tx
        .update(memberships)
        .set({ role, updatedAt: new Date() })
        .where(and(eq(memberships.workspaceId, id), eq(memberships.userId, userId)));
      await audit(c, tx, {
        eventType: "data",
        action: "member.role_change",
        result: "success",
        workspaceId: id,
        resourceType: "user",
        resourceId: userId,
        details: { from: current, to: role },
      });
      return memberView(tx, id, userId);
    });
    await forgetRoles(c, userId);
    return c.json(member, 200);
  },
);

memberRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/v1/workspaces/{id}/members/{userId}",
    tags: ["members"],
    summary: "Remove a member (any member may remove themselves)",
    ...authed,
    request: { params: MemberParams },
    responses: { 204: { description: "Removed" }, ...problems(401, 403, 404, 409) },
  }),
  async (c) => {
    const { id, userId } = c.req.valid("param");
    const leaving = userId === c.var.auth.user.id;
    const actor = await authorize(c, id, leaving ? "workspace:read" : "members:manage", { type: "workspace", id });
    const db = await c.var.db();
    await db.transaction(async (tx) => {
      const current = await currentRole(tx, id, userId);
      if (!leaving && !canAssignRole(actor, current, undefined)) throw new SparkiError("forbidden", { detail: "Only an owner can remove an owner." });
      if (current === "owner") await assertOwnerRemains(tx, id, userId);
      await tx.delete(memberships).where(and(eq(memberships.workspaceId, id), eq(memberships.userId, userId)));
      await audit(c, tx, {
        eventType: "data",
        action: leaving ? "member.leave" : "member.remove",
        result: "success",
        workspaceId: id,
        resourceType: "user",
        resourceId: userId,
        details: { role: current },
      });
    });
    await forgetRoles(c, userId);
    return c.body(null, 204);
  },
);

async function currentRole(tx: Tx, workspaceId: string, userId: string): Promise<Role> {
  const [row] = await tx
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)));
  if (!row) throw new SparkiError("not_found", { detail: `User ${userId} is not a member of this workspace.` });
  return RoleEnum.parse(row.role);
}
