/**
 * How long a workspace keeps each kind of data. The defaults apply until a workspace's owners or
 * admins change them (`PUT /v1/workspaces/:id/retention`); the scheduled sweep
 * (server/retention/) deletes what is past its age. A new kind of data joins by adding its name
 * here, its default, and its sweeper.
 */
import { z } from "zod";
import { Timestamp } from "./common.js";

export const retentionKinds = ["logs", "artifacts", "caches", "sites"] as const;
export const RetentionKind = z.enum(retentionKinds);
export type RetentionKind = z.infer<typeof RetentionKind>;

/**
 * Days each kind is kept: logs and artifacts from their build's end, caches from their last use,
 * sites from their release's end (a site a stage still serves, or keeps for an instant rollback,
 * is never deleted).
 */
export const defaultRetentionDays: Record<RetentionKind, number> = { logs: 90, artifacts: 30, caches: 7, sites: 30 };

/** Ten years: past that, "forever" is what is meant, and the answer is to not set a shorter one. */
export const maxRetentionDays = 3650;

const Days = z.number().int().min(1).max(maxRetentionDays);

export const RetentionSetting = z
  .object({
    kind: RetentionKind,
    days: Days,
    /** False when the workspace uses the default. */
    custom: z.boolean(),
    updatedAt: Timestamp.nullable(),
  })
  .meta({ id: "RetentionSetting" });

export const RetentionSettings = z
  .object({ items: z.array(RetentionSetting).describe("One entry per kind, in a fixed order.") })
  .meta({ id: "RetentionSettings" });

/** Days per kind to set; `null` returns a kind to its default; a kind left out stays as it is. */
export const UpdateRetentionBody = z
  .strictObject({
    logs: Days.nullable().optional(),
    artifacts: Days.nullable().optional(),
    caches: Days.nullable().optional(),
    sites: Days.nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "name at least one kind");
export type UpdateRetentionBody = z.infer<typeof UpdateRetentionBody>;
