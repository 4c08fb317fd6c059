/**
 * `GET /v1/me/export`: everything Sparki holds about the caller, and nothing about anyone else.
 * Hashes and secrets never leave (password hash, token hashes, secret values): tokens and sessions
 * appear by their metadata. Audit events done by someone else to the caller keep the event but
 * not the other person's IP. No list is cut: the document is streamed as it is read
 * (server/privacy/export.ts), so a failure part way ends the response before its closing brace
 * (not valid JSON) rather than with a shorter list.
 */
import { z } from "zod";
import { roles } from "../rbac.js";
import { Timestamp } from "./common.js";

const Stamp = Timestamp.nullable();

export const AccountExport = z
  .object({
    exportedAt: Timestamp,
    user: z.object({
      id: z.uuid(),
      email: z.string(),
      name: z.string().nullable(),
      emailVerified: z.boolean(),
      /** When the caller last ended every session (password change, "log out everywhere"). */
      sessionsRevokedAt: Stamp,
      createdAt: Timestamp,
      updatedAt: Timestamp,
    }),
    identities: z.array(z.object({ provider: z.string(), providerUserId: z.string(), login: z.string(), email: z.string().nullable(), linkedAt: Timestamp })),
    /**
     * Workspaces the caller is a member of, and those they created and have since left: of those
     * only the id (their name and members are the remaining members'), with a null role.
     */
    workspaces: z.array(
      z.object({
        id: z.uuid(),
        name: z.string().nullable(),
        slug: z.string().nullable(),
        role: z.enum(roles).nullable(),
        /** The caller created it. */
        owner: z.boolean(),
        memberSince: Stamp,
      }),
    ),
    /** GitHub App installations the caller linked to a workspace. */
    githubInstallations: z.array(
      z.object({
        id: z.number().int(),
        accountLogin: z.string(),
        accountType: z.string(),
        repositorySelection: z.string(),
        workspaceId: z.uuid().nullable(),
        linkedAt: Stamp,
        suspendedAt: Stamp,
        deletedAt: Stamp,
      }),
    ),
    apiTokens: z.array(
      z.object({ id: z.uuid(), name: z.string(), prefix: z.string(), scope: z.string(), lastUsedAt: Stamp, expiresAt: Stamp, createdAt: Timestamp }),
    ),
    sessions: z.array(z.object({ id: z.uuid(), familyId: z.uuid(), createdAt: Timestamp, expiresAt: Timestamp, rotatedAt: Stamp, revokedAt: Stamp })),
    buildsTriggered: z.array(z.object({ id: z.uuid(), projectId: z.uuid().nullable(), number: z.number().nullable(), createdAt: Timestamp })),
    releasesStarted: z.array(z.object({ id: z.uuid(), projectId: z.uuid(), buildId: z.uuid(), createdAt: Timestamp })),
    deploymentsApproved: z.array(z.object({ id: z.uuid(), stage: z.string().nullable(), approvedAt: Stamp })),
    /** Settings the caller created or last changed: names and ids only, never a value or key. */
    authored: z.array(
      z.object({
        kind: z.enum(["pipeline", "secret", "runner_token", "stage_rule", "push_hook", "gitlab_link", "notification_channel", "retention"]),
        projectId: z.uuid().nullable(),
        workspaceId: z.uuid().nullable(),
        name: z.string().nullable(),
        at: Timestamp,
      }),
    ),
    auditEvents: z.array(
      z.object({
        id: z.uuid(),
        at: Timestamp,
        action: z.string(),
        result: z.string(),
        workspaceId: z.uuid().nullable(),
        resourceType: z.string().nullable(),
        resourceId: z.string().nullable(),
        /** True when the caller did it; false when it was done to them (their role changed) or names them (a refused sign-in with their login). */
        byYou: z.boolean(),
        ip: z.string().nullable(),
        details: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .meta({ id: "AccountExport" });
export type AccountExport = z.infer<typeof AccountExport>;
