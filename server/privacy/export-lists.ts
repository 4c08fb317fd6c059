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
 * only that flow's secrets. deployment_events.message repeats who approved, cancelled or rolled
 * back, which `deploymentsApproved` and `auditEvents` already hold.
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

/** One list of the document: its query (rows in the order written) and each row's JSON form. */
export interface ExportList {
  name: keyof Lists;
  query(caller: Caller): SQL;
  view(row: Record<string, unknown>, caller: Caller): unknown;
}

function list<K extends keyof Lists, R>(name: K, query: (caller: Caller) => SQL, view: (row: R, caller: Caller) => Lists[K][number]): ExportList {
  return { name, query, view: (row, caller) => view(row as R, caller) };
}

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

/** What the caller created or last changed, in the tables that record it (no value, no key). */
const authoredQuery = (id: string) => sql`select kind, "projectId", "workspaceId", name, ${iso(sql`a."at"`)} as "at" from (
    select 'pipeline' as kind, ${pipelines.projectId} as "projectId", null::uuid as "workspaceId", ${pipelines.name} || ' v' || ${pipelines.version} as name, ${pipelines.createdAt} as "at"
      from ${pipelines} where ${pipelines.createdBy} = ${id}
    union all select 'secret', ${secrets.projectId}, null, ${secrets.name}, ${secrets.createdAt} from ${secrets} where ${secrets.createdBy} = ${id}
    union all select 'runner_token', null, ${runnerRegistrationTokens.workspaceId}, ${runnerRegistrationTokens.name}, ${runnerRegistrationTokens.createdAt}
      from ${runnerRegistrationTokens} where ${runnerRegistrationTokens.createdBy} = ${id}
    union all select 'stage_rule', ${stageRules.projectId}, null, ${stageRules.stage}, ${stageRules.updatedAt} from ${stageRules} where ${stageRules.updatedBy} = ${id}
    union all select 'push_hook', ${pushHooks.projectId}, null, null, ${pushHooks.createdAt} from ${pushHooks} where ${pushHooks.createdBy} = ${id}
    union all select 'gitlab_link', ${gitlabLinks.projectId}, null, ${gitlabLinks.gitlabPath}, ${gitlabLinks.createdAt} from ${gitlabLinks} where ${gitlabLinks.createdBy} = ${id}
    union all select 'notification_channel', ${notificationChannels.projectId}, null, ${notificationChannels.name}, ${notificationChannels.createdAt}
      from ${notificationChannels} where ${notificationChannels.createdBy} = ${id}
    union all select 'retention', null, ${workspaceRetention.workspaceId}, ${workspaceRetention.kind}, ${workspaceRetention.updatedAt}
      from ${workspaceRetention} where ${workspaceRetention.updatedBy} = ${id}
  ) a order by a."at" desc, kind, "projectId", "workspaceId", name`;

/** The document's lists, in the order they are written. */
export const exportLists: ExportList[] = [
  list(
    "identities",
    ({ id }) => sql`select ${userIdentities.provider} as provider, ${userIdentities.providerUserId} as "providerUserId", ${userIdentities.login} as login,
      ${userIdentities.email} as email, ${iso(userIdentities.linkedAt)} as "linkedAt"
      from ${userIdentities} where ${userIdentities.userId} = ${id} order by ${userIdentities.provider}`,
    same<Lists["identities"][number]>,
  ),
  list(
    "workspaces",
    // A workspace they created and left shows only its id: the rest is the remaining members'.
    ({ id }) => sql`select ${workspaces.id} as id, case when ${memberships.userId} is null then null else ${workspaces.name} end as name,
      case when ${memberships.userId} is null then null else ${workspaces.slug} end as slug, ${memberships.role} as role,
      coalesce(${workspaces.ownerId} = ${id}, false) as owner, ${iso(memberships.createdAt)} as "memberSince"
      from ${workspaces} left join ${memberships} on ${memberships.workspaceId} = ${workspaces.id} and ${memberships.userId} = ${id}
      where ${memberships.userId} = ${id} or ${workspaces.ownerId} = ${id}
      order by ${memberships.userId} is null, ${workspaces.name}, ${workspaces.id}`,
    (w: Omit<Lists["workspaces"][number], "role"> & { role: unknown }) => ({ ...w, role: Role.parse(w.role) }),
  ),
  list(
    "githubInstallations",
    ({ id }) => sql`select ${githubInstallations.id}::text as id, ${githubInstallations.accountLogin} as "accountLogin",
      ${githubInstallations.accountType} as "accountType", ${githubInstallations.repositorySelection} as "repositorySelection",
      ${githubInstallations.workspaceId} as "workspaceId", ${iso(githubInstallations.linkedAt)} as "linkedAt",
      ${iso(githubInstallations.suspendedAt)} as "suspendedAt", ${iso(githubInstallations.deletedAt)} as "deletedAt"
      from ${githubInstallations} where ${githubInstallations.linkedBy} = ${id}
      order by ${githubInstallations.linkedAt} desc nulls last, ${githubInstallations.id}`,
    (i: Omit<Lists["githubInstallations"][number], "id"> & { id: string }) => ({ ...i, id: Number(i.id) }),
  ),
  list(
    "apiTokens",
    ({ id }) => sql`select ${apiTokens.id} as id, ${apiTokens.name} as name, ${apiTokens.prefix} as prefix, ${apiTokens.scope} as scope,
      ${iso(apiTokens.lastUsedAt)} as "lastUsedAt", ${iso(apiTokens.expiresAt)} as "expiresAt", ${iso(apiTokens.createdAt)} as "createdAt"
      from ${apiTokens} where ${apiTokens.userId} = ${id} order by ${apiTokens.createdAt} desc, ${apiTokens.id} desc`,
    same<Lists["apiTokens"][number]>,
  ),
  list(
    "sessions",
    ({ id }) => sql`select ${refreshTokens.id} as id, ${refreshTokens.familyId} as "familyId", ${iso(refreshTokens.createdAt)} as "createdAt",
      ${iso(refreshTokens.expiresAt)} as "expiresAt", ${iso(refreshTokens.rotatedAt)} as "rotatedAt", ${iso(refreshTokens.revokedAt)} as "revokedAt"
      from ${refreshTokens} where ${refreshTokens.userId} = ${id} order by ${refreshTokens.createdAt} desc, ${refreshTokens.id} desc`,
    same<Lists["sessions"][number]>,
  ),
  list(
    "buildsTriggered",
    ({ id }) => sql`select ${builds.id} as id, ${builds.projectId} as "projectId", ${builds.number} as number, ${iso(builds.createdAt)} as "createdAt"
      from ${builds} where ${builds.createdBy} = ${id} order by ${builds.createdAt} desc, ${builds.id} desc`,
    same<Lists["buildsTriggered"][number]>,
  ),
  list(
    "releasesStarted",
    ({
      id,
    }) => sql`select ${releases.id} as id, ${releases.projectId} as "projectId", ${releases.buildId} as "buildId", ${iso(releases.createdAt)} as "createdAt"
      from ${releases} where ${releases.createdBy} = ${id} order by ${releases.createdAt} desc, ${releases.id} desc`,
    same<Lists["releasesStarted"][number]>,
  ),
  list(
    "deploymentsApproved",
    ({ id }) => sql`select ${deployments.id} as id, ${deployments.stage} as stage, ${iso(deployments.approvedAt)} as "approvedAt"
      from ${deployments} where ${deployments.approvedBy} = ${id} order by ${deployments.approvedAt} desc nulls last, ${deployments.id} desc`,
    same<Lists["deploymentsApproved"][number]>,
  ),
  list("authored", ({ id }) => authoredQuery(id), same<Lists["authored"][number]>),
  list(
    "auditEvents",
    (caller) => sql`select ${auditLogs.id} as id, ${iso(auditLogs.createdAt)} as at, ${auditLogs.action} as action, ${auditLogs.result} as result,
      ${auditLogs.workspaceId} as "workspaceId", ${auditLogs.resourceType} as "resourceType", ${auditLogs.resourceId} as "resourceId",
      ${auditLogs.userId} as "userId", ${auditLogs.ip} as ip, ${auditLogs.details} as details
      from ${auditLogs} where ${auditOfPerson(caller)} order by ${auditLogs.createdAt} desc, ${auditLogs.id} desc`,
    auditView,
  ),
];
