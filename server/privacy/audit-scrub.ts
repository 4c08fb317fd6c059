/**
 * Audit events outlive the accounts they mention (the event, its time and its outcome stay for
 * the workspace's record), but the person's data in them does not: when an account is deleted,
 * the IP of what they did and the personal fields of every event about them are removed.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { auditLogs } from "../db/schema.js";

/**
 * The detail fields that can hold a person's data: an email (a failed login's, an invite's), a
 * git host login, a name, an IP or user agent. Other fields (ids, roles) are kept, and so is a
 * `name` in an event about something other than a user (a project's name).
 */
export const personalDetailKeys = ["email", "login", "name", "ip", "userAgent", "user_agent"] as const;

const textArray = (keys: readonly string[]) => sql.raw(`array[${keys.map((k) => `'${k}'`).join(", ")}]::text[]`);
const allKeys = textArray(personalDetailKeys);
const keysButName = textArray(personalDetailKeys.filter((k) => k !== "name"));

/**
 * Scrubs the audit log of the account being deleted; run in its deletion's transaction, before the
 * user row goes (which unlinks `user_id`). Events they did lose their IP; events they did, events
 * done to them and events naming their email lose the personal fields of their details and say so.
 * Returns how many events were scrubbed.
 */
export async function scrubAuditOf(db: Pick<Db, "update">, user: { id: string; email: string }): Promise<number> {
  const email = user.email.toLowerCase();
  const byThem = sql`${auditLogs.userId} = ${user.id}`;
  const aboutThem = sql`(${auditLogs.resourceType} = 'user' and ${auditLogs.resourceId} = ${user.id})`;
  const namingThem = sql`lower(${auditLogs.details}->>'email') = ${email}`;
  const rows = await db
    .update(auditLogs)
    .set({
      ip: sql`case when ${byThem} or (${aboutThem} and ${auditLogs.action} = 'user.delete') then null else ${auditLogs.ip} end`,
      details: sql`(${auditLogs.details} - case when ${auditLogs.resourceType} = 'user' then ${allKeys} else ${keysButName} end) || '{"personalDataRemoved": true}'::jsonb`,
    })
    .where(sql`${byThem} or ${aboutThem} or ${namingThem}`)
    .returning({ id: auditLogs.id });
  return rows.length;
}
