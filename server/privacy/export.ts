/**
 * What `GET /v1/me/export` returns (core/contracts/export.ts): every row about the user, read by
 * their own id only, so the export can never reach another account's data. Hashes and secret
 * values are never selected.
 */
import { and, desc, eq, or, sql } from "drizzle-orm";
import { z } from "zod";
import { exportListLimit, type AccountExport } from "../../core/contracts/export.js";
import { roles } from "../../core/rbac.js";
import type { Db } from "../db/client.js";
import {
  apiTokens,
  auditLogs,
  builds,
  deployments,
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
  users,
  workspaceRetention,
  workspaces,
} from "../db/schema.js";
import { personalDetailKeys } from "./audit-scrub.js";

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);
const Details = z.record(z.string(), z.unknown());

/**
 * An event's details, without another person's fields when it was about someone else (the caller
 * invited them, say: the invite names their email).
 */
function withoutOthers(details: unknown, aboutSomeoneElse: boolean, ownEmail: string): Record<string, unknown> {
  const parsed = Details.catch({}).parse(details);
  if (!aboutSomeoneElse) return parsed;
  for (const key of personalDetailKeys) {
    const value = parsed[key];
    if (value !== undefined && !(typeof value === "string" && value.toLowerCase() === ownEmail)) delete parsed[key];
  }
  return parsed;
}

/** The user's data; null when the account does not exist (deleted between auth and now). */
export async function exportAccount(db: Db, userId: string, now: Date): Promise<AccountExport | null> {
  const [user] = await db
    .select({ id: users.id, email: users.email, name: users.name, emailVerified: users.emailVerified, createdAt: users.createdAt, updatedAt: users.updatedAt })
    .from(users)
    .where(eq(users.id, userId));
  if (!user) return null;
  const truncated: string[] = [];
  const capped = <T>(name: string, rows: T[]): T[] => {
    if (rows.length <= exportListLimit) return rows;
    truncated.push(name);
    return rows.slice(0, exportListLimit);
  };
  const limit = exportListLimit + 1;
  const ownEmail = user.email.toLowerCase();

  const [identities, spaces, tokens, sessions, built, released, approved, events] = await Promise.all([
    db.select().from(userIdentities).where(eq(userIdentities.userId, userId)).orderBy(userIdentities.provider),
    db
      .select({
        id: workspaces.id,
        name: workspaces.name,
        slug: workspaces.slug,
        ownerId: workspaces.ownerId,
        role: memberships.role,
        since: memberships.createdAt,
      })
      .from(memberships)
      .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
      .where(eq(memberships.userId, userId))
      .orderBy(workspaces.name),
    db
      .select({
        id: apiTokens.id,
        name: apiTokens.name,
        prefix: apiTokens.prefix,
        scope: apiTokens.scope,
        lastUsedAt: apiTokens.lastUsedAt,
        expiresAt: apiTokens.expiresAt,
        createdAt: apiTokens.createdAt,
      })
      .from(apiTokens)
      .where(eq(apiTokens.userId, userId))
      .orderBy(desc(apiTokens.createdAt))
      .limit(limit),
    db
      .select({
        id: refreshTokens.id,
        familyId: refreshTokens.familyId,
        createdAt: refreshTokens.createdAt,
        expiresAt: refreshTokens.expiresAt,
        rotatedAt: refreshTokens.rotatedAt,
        revokedAt: refreshTokens.revokedAt,
      })
      .from(refreshTokens)
      .where(eq(refreshTokens.userId, userId))
      .orderBy(desc(refreshTokens.createdAt))
      .limit(limit),
    db
      .select({ id: builds.id, projectId: builds.projectId, number: builds.number, createdAt: builds.createdAt })
      .from(builds)
      .where(eq(builds.createdBy, userId))
      .orderBy(desc(builds.createdAt))
      .limit(limit),
    db
      .select({ id: releases.id, projectId: releases.projectId, buildId: releases.buildId, createdAt: releases.createdAt })
      .from(releases)
      .where(eq(releases.createdBy, userId))
      .orderBy(desc(releases.createdAt))
      .limit(limit),
    db
      .select({ id: deployments.id, stage: deployments.stage, approvedAt: deployments.approvedAt })
      .from(deployments)
      .where(eq(deployments.approvedBy, userId))
      .orderBy(desc(deployments.approvedAt))
      .limit(limit),
    db
      .select()
      .from(auditLogs)
      .where(or(eq(auditLogs.userId, userId), and(eq(auditLogs.resourceType, "user"), eq(auditLogs.resourceId, userId))))
      .orderBy(desc(auditLogs.createdAt), desc(auditLogs.id))
      .limit(limit),
  ]);

  const authored = await authoredBy(db, userId, limit);

  return {
    exportedAt: iso(now),
    user: { ...user, createdAt: iso(user.createdAt), updatedAt: iso(user.updatedAt) },
    identities: identities.map((i) => ({ provider: i.provider, providerUserId: i.providerUserId, login: i.login, email: i.email, linkedAt: iso(i.linkedAt) })),
    workspaces: spaces.map((w) => ({
      id: w.id,
      name: w.name,
      slug: w.slug,
      role: z.enum(roles).parse(w.role),
      owner: w.ownerId === userId,
      memberSince: iso(w.since),
    })),
    apiTokens: capped("apiTokens", tokens).map((t) => ({
      ...t,
      lastUsedAt: isoOrNull(t.lastUsedAt),
      expiresAt: isoOrNull(t.expiresAt),
      createdAt: iso(t.createdAt),
    })),
    sessions: capped("sessions", sessions).map((s) => ({
      ...s,
      createdAt: iso(s.createdAt),
      expiresAt: iso(s.expiresAt),
      rotatedAt: isoOrNull(s.rotatedAt),
      revokedAt: isoOrNull(s.revokedAt),
    })),
    buildsTriggered: capped("buildsTriggered", built).map((b) => ({ ...b, createdAt: iso(b.createdAt) })),
    releasesStarted: capped("releasesStarted", released).map((r) => ({ ...r, createdAt: iso(r.createdAt) })),
    deploymentsApproved: capped("deploymentsApproved", approved).map((d) => ({ ...d, approvedAt: isoOrNull(d.approvedAt) })),
    authored: capped("authored", authored),
    auditEvents: capped("auditEvents", events).map((e) => {
      const byYou = e.userId === userId;
      const aboutSomeoneElse = e.resourceType === "user" && e.resourceId !== userId;
      return {
        id: e.id,
        at: iso(e.createdAt),
        action: e.action,
        result: e.result,
        workspaceId: e.workspaceId,
        resourceType: e.resourceType,
        // The other person the caller acted on (an invite, a role change) is theirs to export.
        resourceId: aboutSomeoneElse ? null : e.resourceId,
        byYou,
        // Someone else's IP is theirs, not the caller's.
        ip: byYou ? e.ip : null,
        details: withoutOthers(e.details, aboutSomeoneElse, ownEmail),
      };
    }),
    truncated,
  };
}

type Authored = AccountExport["authored"][number];

/** The settings the user created or last changed, newest first (each table read by their id). */
async function authoredBy(db: Db, userId: string, limit: number): Promise<Authored[]> {
  const of = (kind: Authored["kind"], rows: { projectId?: string | null; workspaceId?: string | null; name?: string | null; at: Date }[]): Authored[] =>
    rows.map((r) => ({ kind, projectId: r.projectId ?? null, workspaceId: r.workspaceId ?? null, name: r.name ?? null, at: iso(r.at) }));
  const [pipelineRows, secretRows, tokenRows, ruleRows, hookRows, gitlabRows, channelRows, retentionRows] = await Promise.all([
    db
      .select({ projectId: pipelines.projectId, name: sql<string>`${pipelines.name} || ' v' || ${pipelines.version}`, at: pipelines.createdAt })
      .from(pipelines)
      .where(eq(pipelines.createdBy, userId))
      .limit(limit),
    db.select({ projectId: secrets.projectId, name: secrets.name, at: secrets.createdAt }).from(secrets).where(eq(secrets.createdBy, userId)).limit(limit),
    db
      .select({ workspaceId: runnerRegistrationTokens.workspaceId, name: runnerRegistrationTokens.name, at: runnerRegistrationTokens.createdAt })
      .from(runnerRegistrationTokens)
      .where(eq(runnerRegistrationTokens.createdBy, userId))
      .limit(limit),
    db
      .select({ projectId: stageRules.projectId, name: stageRules.stage, at: stageRules.updatedAt })
      .from(stageRules)
      .where(eq(stageRules.updatedBy, userId))
      .limit(limit),
    db.select({ projectId: pushHooks.projectId, at: pushHooks.createdAt }).from(pushHooks).where(eq(pushHooks.createdBy, userId)).limit(limit),
    db
      .select({ projectId: gitlabLinks.projectId, name: gitlabLinks.gitlabPath, at: gitlabLinks.createdAt })
      .from(gitlabLinks)
      .where(eq(gitlabLinks.createdBy, userId))
      .limit(limit),
    db
      .select({ projectId: notificationChannels.projectId, name: notificationChannels.name, at: notificationChannels.createdAt })
      .from(notificationChannels)
      .where(eq(notificationChannels.createdBy, userId))
      .limit(limit),
    db
      .select({ workspaceId: workspaceRetention.workspaceId, name: workspaceRetention.kind, at: workspaceRetention.updatedAt })
      .from(workspaceRetention)
      .where(eq(workspaceRetention.updatedBy, userId))
      .limit(limit),
  ]);
  return [
    ...of("pipeline", pipelineRows),
    ...of("secret", secretRows),
    ...of("runner_token", tokenRows),
    ...of("stage_rule", ruleRows),
    ...of("push_hook", hookRows),
    ...of("gitlab_link", gitlabRows),
    ...of("notification_channel", channelRows),
    ...of("retention", retentionRows),
  ].sort((a, b) => b.at.localeCompare(a.at));
}
