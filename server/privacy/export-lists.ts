/**
 * The lists of `GET /v1/me/export`, one query each, read by the caller's own id only, so the export
 * can never reach another account's data. Every column of server/db/schema.ts that refers to a
 * person, and where it goes:
 * - users (id, email, name, email_verified, sessions_revoked_at, times): `user`;
 * - user_identities: `identities`; memberships.user_id and workspaces.owner_id: `workspaces`;
 * - github_installations.linked_by: `githubInstallations`;
 * - api_tokens.user_id: `apiTokens`; refresh_tokens.user_id: `sessions`;
 * - builds.created_by, releases.created_by, deployments.approved_by: `buildsTriggered`,
 *   `releasesStarted`, `deploymentsApproved`;
 * - created_by of pipelines, secrets, runner_registration_tokens, push_hooks, gitlab_links and
 *   notification_channels, updated_by of stage_rules and workspace_retention: `authored`;
 * - audit_logs (user_id, resource_id, ip, details): `auditEvents` (server/privacy/audit-naming.ts).
 * Left out on purpose: oauth_flows.link_user_id, a link under way that lives ten minutes and holds
 * only that flow's secrets. deployment_events.actor_id repeats who approved, cancelled or asked for
 * a rollback, which `deploymentsApproved` and `auditEvents` already hold (its message names nobody:
 * server/objects/deployment-orchestrator/people.ts).
 * Secrets never leave, whoever they belong to: no query here selects a password hash, a token hash
 * (api, refresh, runner), a sealed value (secrets, hooks, GitLab tokens, channel URLs and keys) or
 * an OAuth flow's verifier.
 */
import { type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { AccountExport } from "../../core/contracts/export.js";
import { roles } from "../../core/rbac.js";
import {
  apiTokens,
  auditLogs,
  builds,
  deployments,
  githubInstallations,
  gitlabLinks,
  memberships,
  notificationChannels,
  pipelines,
  pushHooks,
  refreshTokens,
  releases,
  runnerRegistrationTokens,
  secrets,
  stageRules,
  userIdentities,
  workspaceRetention,
  workspaces,
} from "../db/schema.js";
import { auditOfPerson, personalDetailKeys } from "./audit-naming.js";

/** The caller, as the lists need them. */
export interface Caller {
  id: string;
  email: string;
  /** `provider:login` of their linked identities, lower case. */
  logins: string[];
}

/** A timestamp as the API writes them (ISO 8601, UTC, milliseconds), or null. */
export const iso = (column: SQL | SQL.Aliased | { getSQL(): SQL }) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

type Lists = Omit<AccountExport, "exportedAt" | "user">;

/**
 * The order of a list, which is also how it is read a page at a time (keyset pagination): columns
 * of its query that together are unique and never null, all ascending or all descending. Their
 * names start with `_`: they are read, not written.
 */
export interface ListOrder {
  key: readonly `_${string}`[];
  descending: boolean;
}

/** One list of the document: its query (its rows, in no order), its order, and each row's JSON form. */
export interface ExportList {
  name: keyof Lists;
  order: ListOrder;
  query(caller: Caller): SQL;
  view(row: Record<string, unknown>, caller: Caller): unknown;
}

function list<K extends keyof Lists, R>(
  name: K,
  order: ListOrder,
  query: (caller: Caller) => SQL,
  view: (row: R, caller: Caller) => Lists[K][number],
): ExportList {
  return { name, order, query, view: (row, caller) => view(row as R, caller) };
}

/** Newest first, by `_at` and then `_id`. */
const newestFirst: ListOrder = { key: ["_at", "_id"], descending: true };

const same = <R>(row: R) => row;
const Role = z.enum(roles).nullable();
const Details = z.record(z.string(), z.unknown());

interface AuditRow {
  id: string;
  at: string;
  action: string;
  result: string;
  workspaceId: string | null;
  resourceType: string | null;
  resourceId: string | null;
  userId: string | null;
  ip: string | null;
  details: unknown;
}

/**
 * An event's details, without another person's fields when it was about someone else (the caller
 * invited them, say: the invite names their email) or was someone else's that names the caller.
 */
function auditView(e: AuditRow, caller: Caller): Lists["auditEvents"][number] {
  const byYou = e.userId === caller.id;
  const aboutSomeoneElse = e.resourceType === "user" && e.resourceId !== caller.id;
  const aboutYou = e.resourceType === "user" && e.resourceId === caller.id;
  const details = Details.catch({}).parse(e.details);
  if (aboutSomeoneElse || (!byYou && !aboutYou)) {
    const provider = typeof details.provider === "string" ? details.provider : "";
    for (const key of personalDetailKeys) {
      const value = details[key];
      if (value === undefined || (key === "name" && e.resourceType !== "user")) continue;
      const own = typeof value === "string" && (value.toLowerCase() === caller.email || caller.logins.includes(`${provider}:${value.toLowerCase()}`));
      if (!own) delete details[key];
    }
  }
  return {
    id: e.id,
    at: e.at,
    action: e.action,
    result: e.result,
    workspaceId: e.workspaceId,
    resourceType: e.resourceType,
    // The other person the caller acted on (an invite, a role change) is theirs to export.
    resourceId: aboutSomeoneElse ? null : e.resourceId,
    byYou,
    // Someone else's IP is theirs, not the caller's.
    ip: byYou ? e.ip : null,
    details,
  };
}

/**
 * What the caller created or last changed, in the tables that record it (no value, no key). `ref`
 * is the row's primary key as text: with the kind, unique across the tables.
 */
const authoredQuery = (
  id: string,
) => sql`select kind, "projectId", "workspaceId", name, ${iso(sql`a."at"`)} as "at", a."at" as "_at", kind as "_kind", ref as "_ref" from (
    select 'pipeline' as kind, ${pipelines.projectId} as "projectId", null::uuid as "workspaceId", ${pipelines.name} || ' v' || ${pipelines.version} as name,
      ${pipelines.createdAt} as "at", ${pipelines.id}::text as ref
      from ${pipelines} where ${pipelines.createdBy} = ${id}
    union all select 'secret', ${secrets.projectId}, null, ${secrets.name}, ${secrets.createdAt}, ${secrets.id}::text from ${secrets} where ${secrets.createdBy} = ${id}
    union all select 'runner_token', null, ${runnerRegistrationTokens.workspaceId}, ${runnerRegistrationTokens.name}, ${runnerRegistrationTokens.createdAt},
      ${runnerRegistrationTokens.id}::text
      from ${runnerRegistrationTokens} where ${runnerRegistrationTokens.createdBy} = ${id}
    union all select 'stage_rule', ${stageRules.projectId}, null, ${stageRules.stage}, ${stageRules.updatedAt}, ${stageRules.projectId}::text || '/' || ${stageRules.stage}
      from ${stageRules} where ${stageRules.updatedBy} = ${id}
    union all select 'push_hook', ${pushHooks.projectId}, null, null, ${pushHooks.createdAt}, ${pushHooks.projectId}::text from ${pushHooks} where ${pushHooks.createdBy} = ${id}
    union all select 'gitlab_link', ${gitlabLinks.projectId}, null, ${gitlabLinks.gitlabPath}, ${gitlabLinks.createdAt}, ${gitlabLinks.projectId}::text
      from ${gitlabLinks} where ${gitlabLinks.createdBy} = ${id}
    union all select 'notification_channel', ${notificationChannels.projectId}, null, ${notificationChannels.name}, ${notificationChannels.createdAt},
      ${notificationChannels.id}::text
      from ${notificationChannels} where ${notificationChannels.createdBy} = ${id}
    union all select 'retention', null, ${workspaceRetention.workspaceId}, ${workspaceRetention.kind}, ${workspaceRetention.updatedAt},
      ${workspaceRetention.workspaceId}::text || '/' || ${workspaceRetention.kind}
      from ${workspaceRetention} where ${workspaceRetention.updatedBy} = ${id}
  ) a`;

/**
 * The document's lists, in the order they are written. A nullable time in a key counts as the
 * earliest (`-infinity`), so those rows come last, newest first.
 */
export const exportLists: ExportList[] = [
  list(
    "identities",
    // One identity per provider and user.
    { key: ["_provider"], descending: false },
    ({ id }) => sql`select ${userIdentities.provider} as provider, ${userIdentities.providerUserId} as "providerUserId", ${userIdentities.login} as login,
      ${userIdentities.email} as email, ${iso(userIdentities.linkedAt)} as "linkedAt", ${userIdentities.provider} as "_provider"
      from ${userIdentities} where ${userIdentities.userId} = ${id}`,
    same<Lists["identities"][number]>,
  ),
  list(
    "workspaces",
    // Those they are a member of by name, then those they created and left.
    { key: ["_left", "_name", "_id"], descending: false },
    // A workspace they created and left shows only its id: the rest is the remaining members'.
    ({ id }) => sql`select ${workspaces.id} as id, case when ${memberships.userId} is null then null else ${workspaces.name} end as name,
      case when ${memberships.userId} is null then null else ${workspaces.slug} end as slug, ${memberships.role} as role,
      coalesce(${workspaces.ownerId} = ${id}, false) as owner, ${iso(memberships.createdAt)} as "memberSince",
      ${memberships.userId} is null as "_left", ${workspaces.name} as "_name", ${workspaces.id} as "_id"
      from ${workspaces} left join ${memberships} on ${memberships.workspaceId} = ${workspaces.id} and ${memberships.userId} = ${id}
      where ${memberships.userId} = ${id} or ${workspaces.ownerId} = ${id}`,
    (w: Omit<Lists["workspaces"][number], "role"> & { role: unknown }) => ({ ...w, role: Role.parse(w.role) }),
  ),
  list(
    "githubInstallations",
    newestFirst,
    ({ id }) => sql`select ${githubInstallations.id}::text as id, ${githubInstallations.accountLogin} as "accountLogin",
      ${githubInstallations.accountType} as "accountType", ${githubInstallations.repositorySelection} as "repositorySelection",
      ${githubInstallations.workspaceId} as "workspaceId", ${iso(githubInstallations.linkedAt)} as "linkedAt",
      ${iso(githubInstallations.suspendedAt)} as "suspendedAt", ${iso(githubInstallations.deletedAt)} as "deletedAt",
      coalesce(${githubInstallations.linkedAt}, '-infinity') as "_at", ${githubInstallations.id} as "_id"
      from ${githubInstallations} where ${githubInstallations.linkedBy} = ${id}`,
    (i: Omit<Lists["githubInstallations"][number], "id"> & { id: string }) => ({ ...i, id: Number(i.id) }),
  ),
  list(
    "apiTokens",
    newestFirst,
    ({ id }) => sql`select ${apiTokens.id} as id, ${apiTokens.name} as name, ${apiTokens.prefix} as prefix, ${apiTokens.scope} as scope,
      ${iso(apiTokens.lastUsedAt)} as "lastUsedAt", ${iso(apiTokens.expiresAt)} as "expiresAt", ${iso(apiTokens.createdAt)} as "createdAt",
      ${apiTokens.createdAt} as "_at", ${apiTokens.id} as "_id"
      from ${apiTokens} where ${apiTokens.userId} = ${id}`,
    same<Lists["apiTokens"][number]>,
  ),
  list(
    "sessions",
    newestFirst,
    ({ id }) => sql`select ${refreshTokens.id} as id, ${refreshTokens.familyId} as "familyId", ${iso(refreshTokens.createdAt)} as "createdAt",
      ${iso(refreshTokens.expiresAt)} as "expiresAt", ${iso(refreshTokens.rotatedAt)} as "rotatedAt", ${iso(refreshTokens.revokedAt)} as "revokedAt",
      ${refreshTokens.createdAt} as "_at", ${refreshTokens.id} as "_id"
      from ${refreshTokens} where ${refreshTokens.userId} = ${id}`,
    same<Lists["sessions"][number]>,
  ),
  list(
    "buildsTriggered",
    newestFirst,
    ({ id }) => sql`select ${builds.id} as id, ${builds.projectId} as "projectId", ${builds.number} as number, ${iso(builds.createdAt)} as "createdAt",
      ${builds.createdAt} as "_at", ${builds.id} as "_id"
      from ${builds} where ${builds.createdBy} = ${id}`,
    same<Lists["buildsTriggered"][number]>,
  ),
  list(
    "releasesStarted",
    newestFirst,
    ({
      id,
    }) => sql`select ${releases.id} as id, ${releases.projectId} as "projectId", ${releases.buildId} as "buildId", ${iso(releases.createdAt)} as "createdAt",
      ${releases.createdAt} as "_at", ${releases.id} as "_id"
      from ${releases} where ${releases.createdBy} = ${id}`,
    same<Lists["releasesStarted"][number]>,
  ),
  list(
    "deploymentsApproved",
    newestFirst,
    ({ id }) => sql`select ${deployments.id} as id, ${deployments.stage} as stage, ${iso(deployments.approvedAt)} as "approvedAt",
      coalesce(${deployments.approvedAt}, '-infinity') as "_at", ${deployments.id} as "_id"
      from ${deployments} where ${deployments.approvedBy} = ${id}`,
    same<Lists["deploymentsApproved"][number]>,
  ),
  list("authored", { key: ["_at", "_kind", "_ref"], descending: true }, ({ id }) => authoredQuery(id), same<Lists["authored"][number]>),
  list(
    "auditEvents",
    newestFirst,
    (caller) => sql`select ${auditLogs.id} as id, ${iso(auditLogs.createdAt)} as at, ${auditLogs.action} as action, ${auditLogs.result} as result,
      ${auditLogs.workspaceId} as "workspaceId", ${auditLogs.resourceType} as "resourceType", ${auditLogs.resourceId} as "resourceId",
      ${auditLogs.userId} as "userId", ${auditLogs.ip} as ip, ${auditLogs.details} as details,
      ${auditLogs.createdAt} as "_at", ${auditLogs.id} as "_id"
      from ${auditLogs} where ${auditOfPerson(caller)}`,
    auditView,
  ),
];
