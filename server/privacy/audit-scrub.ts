/**
 * Audit events outlive the accounts they mention (the event, its time and its outcome stay for
 * the workspace's record), but the person's data in them does not: when an account is deleted,
 * the IP of what they did and the personal fields of every event by, about or naming them are
 * removed (server/privacy/audit-naming.ts says which).
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { auditLogs } from "../db/schema.js";
import { aboutPerson, auditOfPerson, byPerson, keysToScrub, namingPerson, type Person } from "./audit-naming.js";

/**
 * Scrubs the audit log of the account being deleted; run in its deletion's transaction, before the
 * user row goes (which unlinks `user_id`) and with it their linked identities (whose logins name
 * them in sign-in events). Events they did lose their IP, and so do sign-in attempts naming them
 * with nobody signed in (most likely theirs: the IP is the person's); every matched event loses
 * the details that name them and says so. Type, action, result, time and actor stay.
 * Returns how many events were scrubbed.
 */
export async function scrubAuditOf(db: Pick<Db, "update">, person: Person): Promise<number> {
  const theirIp = sql`${byPerson(person)}
    or (${aboutPerson(person)} and ${auditLogs.action} = 'user.delete')
    or (${auditLogs.userId} is null and ${auditLogs.eventType} = 'auth' and ${namingPerson(person)})`;
  const rows = await db
    .update(auditLogs)
    .set({
      ip: sql`case when ${theirIp} then null else ${auditLogs.ip} end`,
      details: sql`(${auditLogs.details} - ${keysToScrub(person)}) || '{"personalDataRemoved": true}'::jsonb`,
    })
    .where(auditOfPerson(person))
    .returning({ id: auditLogs.id });
  return rows.length;
}
