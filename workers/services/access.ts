import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { SparkiError } from "../../core/errors.js";
import { can, roles, type Permission, type Role } from "../../core/rbac.js";
import { scopeCovers, scopeOfPermission } from "../../core/scopes.js";
import type { AppEnv } from "../app-env.js";
import { keys, ttl } from "../../server/cache/keys.js";
import { memberships } from "../../server/db/schema.js";
import { auditOutcome } from "./audit.js";

/** Every role a user holds, by workspace id, as cached for 15 minutes. */
export const CachedRoles = z.object({ roles: z.record(z.string(), z.enum(roles)) });

/** The caller's role in a workspace (null for a non-member), from the 15-minute permission cache. */
export async function roleIn(c: Context<AppEnv>, workspaceId: string): Promise<Role | null> {
  const userId = c.var.auth.user.id;
  const { roles: byWorkspace } = await c.var.cache.getOrLoad(keys.permissions(userId), ttl.permissions, CachedRoles, async () => {
    const db = await c.var.db();
    const rows = await db.select({ workspaceId: memberships.workspaceId, role: memberships.role }).from(memberships).where(eq(memberships.userId, userId));
    return { roles: Object.fromEntries(rows.map((r) => [r.workspaceId, z.enum(roles).parse(r.role)])) };
  });
  return byWorkspace[workspaceId] ?? null;
}

export interface Hidden {
  /** What to call the resource in the 404, e.g. `project`. */
  type: string;
  id: string;
}

/**
 * Checks the caller's permission in the resource's workspace. A non-member learns nothing:
 * they get the same 404 as for a resource that does not exist. A member whose role lacks the
 * permission gets 403, and so does an API token whose scope does not reach the permission
 * (core/scopes.ts). All are audited.
 */
export async function authorize(c: Context<AppEnv>, workspaceId: string, permission: Permission, hidden: Hidden): Promise<Role> {
  const role = await roleIn(c, workspaceId);
  c.var.log.fields.workspaceId = workspaceId;
  if (role === null) {
    await auditOutcome(c, {
      eventType: "permission",
      action: permission,
      result: "denied",
      workspaceId,
      details: { reason: "not_a_member", resourceType: hidden.type, resourceId: hidden.id },
    });
    throw notFound(hidden);
  }
  if (!can(role, permission)) {
    await auditOutcome(c, {
      eventType: "permission",
      action: permission,
      result: "denied",
      workspaceId,
      details: { reason: "role_lacks_permission", role, resourceType: hidden.type, resourceId: hidden.id },
    });
    throw new SparkiError("forbidden", { detail: `Your role '${role}' does not allow '${permission}' in this workspace.` });
  }
  const needed = scopeOfPermission[permission];
  if (!scopeCovers(c.var.auth.scope, needed)) {
    await auditOutcome(c, {
      eventType: "permission",
      action: permission,
      result: "denied",
      workspaceId,
      details: { reason: "token_scope", scope: c.var.auth.scope, resourceType: hidden.type, resourceId: hidden.id },
    });
    throw new SparkiError("forbidden", { detail: `This API token has the '${c.var.auth.scope}' scope; '${permission}' needs '${needed}'.` });
  }
  return role;
}

export function notFound(hidden: Hidden): SparkiError {
  return new SparkiError("not_found", { detail: `No ${hidden.type} with id ${hidden.id}.` });
}

/** Drops a user's cached roles after one of their memberships changed. */
export function forgetRoles(c: Context<AppEnv>, userId: string): Promise<void> {
  return c.var.cache.remove(keys.permissions(userId));
}
