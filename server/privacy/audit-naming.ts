/**
 * Which audit events name a person, shared by the export (they are theirs to see) and the scrub
 * at account deletion (their data in them goes). What the writers put in `details`
 * (workers/services/audit.ts `audit`/`auditOutcome`, and the deployment orchestrator's sync):
 * - `email`: a failed password login's, an invitee's (member.add);
 * - `login` beside `provider`: a GitHub or GitLab sign-in, link or refused sign-in, which may have
 *   no signed-in user at all (auth.oauth_login failures);
 * - `account`: the GitHub account an installation is on (github_installation.link), a person's
 *   own login when it is a personal account;
 * - a user id as a value (`resourceId` of a denial);
 * - `name`: a person's only on an event about a user; elsewhere a project's, secret's or token's;
 * - `ip`, `userAgent`: written by nobody today, listed so a future writer's are covered.
 * Everything else is ids of resources, roles, settings, branches and repository names.
 */
import { type SQL, sql } from "drizzle-orm";
import { auditLogs, userIdentities } from "../db/schema.js";

/** Detail keys that hold a person's data on the events about that person. */
export const personalDetailKeys = ["email", "login", "name", "ip", "userAgent", "user_agent"] as const;

/** Who to look for: the user's id and email; their linked logins are read from user_identities. */
export interface Person {
  id: string;
  email: string;
}

const detailsObject = sql`case when jsonb_typeof(${auditLogs.details}) = 'object' then ${auditLogs.details} else '{}'::jsonb end`;

/**
 * True for a detail (`e.key`, `e.value` of `jsonb_each_text(details) e`) that names the person: any
 * value equal to their id or email, or a `login` (an `account` of a GitHub installation) equal to
 * one of their linked logins on that provider. A login alone is matched by key and provider only:
 * short words such as `main` are also branch and stage names, and `alice` on GitLab may be
 * someone else than `alice` on GitHub. Logins compare case-insensitively, as both hosts do. The
 * login matched is the one last seen at sign-in: an event under a login the person had before a
 * rename is missed, and one of an earlier holder of their login is taken for theirs (logins change
 * hands; only the provider's numeric id names an account, and audit details do not carry it).
 */
function namesPerson(person: Person): SQL {
  const theirLogins = sql`(select ${userIdentities.provider} || ':' || lower(${userIdentities.login}) from ${userIdentities} where ${userIdentities.userId} = ${person.id})`;
  return sql`(lower(e.value) in (${person.id.toLowerCase()}, ${person.email.toLowerCase()})
    or (e.key = 'login' and (${auditLogs.details}->>'provider') || ':' || lower(e.value) in ${theirLogins})
    or (e.key = 'account' and ${auditLogs.action} = 'github_installation.link' and 'github:' || lower(e.value) in ${theirLogins}))`;
}

/** The person did it. */
export const byPerson = (person: Person): SQL => sql`${auditLogs.userId} = ${person.id}`;
/** It was done to the person (their role changed, their account deleted). */
export const aboutPerson = (person: Person): SQL => sql`(${auditLogs.resourceType} = 'user' and ${auditLogs.resourceId} = ${person.id})`;
/** Its details name the person (a refused sign-in with their login, another's denial about them). */
export const namingPerson = (person: Person): SQL => sql`exists (select 1 from jsonb_each_text(${detailsObject}) e where ${namesPerson(person)})`;

/** Every event by, about or naming the person. */
export const auditOfPerson = (person: Person): SQL => sql`(${byPerson(person)} or ${aboutPerson(person)} or ${namingPerson(person)})`;

/**
 * The keys of an event's details that go when the person leaves: every key that names them, and
 * the personal keys of an event by or about them (`name` only where the resource is a user).
 */
export function keysToScrub(person: Person): SQL {
  const personal = (keys: readonly string[]) => sql.raw(`array[${keys.map((k) => `'${k}'`).join(", ")}]::text[]`);
  const keysOfEvent = sql`case when ${auditLogs.resourceType} = 'user' then ${personal(personalDetailKeys)} else ${personal(personalDetailKeys.filter((k) => k !== "name"))} end`;
  return sql`array(select e.key from jsonb_each_text(${detailsObject}) e
    where ${namesPerson(person)} or ((${byPerson(person)} or ${aboutPerson(person)}) and e.key = any(${keysOfEvent})))`;
}
