import { createRoute } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { AuditLogEntry, AuditResult } from "../../core/contracts/audit.js";
import { PageQuery, pageOf } from "../../core/contracts/common.js";
import { auditLogs } from "../../server/db/schema.js";
import { authorize } from "../services/access.js";
import { cursorTimestampSql, decodeCursor, toPage } from "../services/pagination.js";
import { authed, json, newRouter, problems } from "./router.js";

export const auditLogRoutes = newRouter();

const AuditQuery = PageQuery.extend({
  action: z.string().max(50).optional(),
  result: AuditResult.optional(),
});

type AuditRow = typeof auditLogs.$inferSelect;
const view = (r: AuditRow) => ({
  id: r.id,
  userId: r.userId,
  workspaceId: r.workspaceId,
  eventType: r.eventType,
  action: r.action,
  resourceType: r.resourceType,
  resourceId: r.resourceId,
  result: AuditResult.parse(r.result),
  ip: r.ip,
  details: z.record(z.string(), z.unknown()).parse(r.details),
  createdAt: r.createdAt.toISOString(),
});

auditLogRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/workspaces/{id}/audit-logs",
    tags: ["audit"],
    summary: "The workspace's audit log, newest first (owners and admins)",
    ...authed,
    request: { params: z.object({ id: z.uuid() }), query: AuditQuery },
    responses: { 200: { description: "A page of audit entries", content: json(pageOf(AuditLogEntry)) }, ...problems(400, 401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor, action, result } = c.req.valid("query");
    await authorize(c, id, "audit:read", { type: "workspace", id });
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const db = await c.var.db();
    const rows = await db
      .select({ entry: auditLogs, cursorTs: sql<string>`${sql.raw(cursorTimestampSql('"audit_logs"."created_at"'))}`, id: auditLogs.id })
      .from(auditLogs)
      .where(
        and(
          eq(auditLogs.workspaceId, id),
          action ? eq(auditLogs.action, action) : undefined,
          result ? eq(auditLogs.result, result) : undefined,
          after ? sql`(${auditLogs.createdAt}, ${auditLogs.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)` : undefined,
        ),
      )
      .orderBy(desc(auditLogs.createdAt), desc(auditLogs.id))
      .limit(limit + 1);
    return c.json(
      toPage(rows, limit, (r) => view(r.entry)),
      200,
    );
  },
);
