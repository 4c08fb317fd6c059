import type { Context } from "hono";
import type { z } from "zod";
import type { AuditResult } from "../../core/contracts/audit.js";
import type { AppEnv } from "../app-env.js";
import type { Db } from "../../server/db/client.js";
import { sql } from "drizzle-orm";
import { auditLogs, workspaces } from "../../server/db/schema.js";
import { clientIp } from "../middleware/context.js";
import { describeError } from "../log.js";

export interface AuditEvent {
  eventType: "auth" | "permission" | "data";
  /** What happened, `resource.verb`: `auth.login`, `project.create`, `member.role_change`. */
  action: string;
  result: z.infer<typeof AuditResult>;
  userId?: string | null;
  workspaceId?: string | null;
  resourceType?: string;
  resourceId?: string;
  details?: Record<string, unknown>;
}

function rowOf(c: Context<AppEnv>, event: AuditEvent) {
  return {
    eventType: event.eventType,
    action: event.action,
    result: event.result,
    userId: event.userId === undefined ? (c.var.auth?.user.id ?? null) : event.userId,
    workspaceId: event.workspaceId ?? null,
    resourceType: event.resourceType ?? null,
    resourceId: event.resourceId ?? null,
    ip: clientIp((name) => c.req.header(name)),
    details: { requestId: c.get("requestId"), ...event.details },
  };
}

/** Writes an audit row with the caller's database handle, so data changes and their audit commit together. */
export async function audit(c: Context<AppEnv>, db: Db, event: AuditEvent): Promise<void> {
  await db.insert(auditLogs).values(rowOf(c, event));
}

/**
 * Writes an audit row for an outcome that is not itself a data change (a denial, a failed login).
 * The row is written before the response goes out; a failure to write it is logged but does not
 * turn the caller's 401/403/404 into a 503. A denial may name a workspace that does not exist,
 * so the workspace is linked only when it does (its id stays in the details either way).
 */
export async function auditOutcome(c: Context<AppEnv>, event: AuditEvent): Promise<void> {
  try {
    const db = await c.get("db")();
    const { workspaceId, ...row } = rowOf(c, event);
    await db.insert(auditLogs).values({
      ...row,
      workspaceId: workspaceId === null ? null : sql`(select ${workspaces.id} from ${workspaces} where ${workspaces.id} = ${workspaceId})`,
      details: workspaceId === null ? row.details : { ...row.details, workspaceId },
    });
  } catch (err) {
    c.get("log").error(`audit write failed for ${event.action}`, describeError(err));
  }
}
