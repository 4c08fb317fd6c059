import { z } from "zod";
import { Timestamp } from "./common.js";

export const AuditResult = z.enum(["success", "failure", "denied"]);

export const AuditLogEntry = z
  .object({
    id: z.uuid(),
    userId: z.uuid().nullable(),
    workspaceId: z.uuid().nullable(),
    eventType: z.string(),
    action: z.string(),
    resourceType: z.string().nullable(),
    resourceId: z.string().nullable(),
    result: AuditResult,
    ip: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    createdAt: Timestamp,
  })
  .meta({ id: "AuditLogEntry" });
