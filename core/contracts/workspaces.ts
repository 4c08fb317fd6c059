import { z } from "zod";
import { Timestamp } from "./common.js";
import { roles } from "../rbac.js";

export const Role = z.enum(roles);

/**
 * Which of the workspace's jobs the instance's shared runners may take: none, only jobs that carry
 * no secrets (the default: a build carries its project's secrets when the project has any), or all.
 * The workspace's own runners take every job whatever this says.
 */
export const SharedRunners = z.enum(["never", "no-secrets", "always"]);
export type SharedRunners = z.infer<typeof SharedRunners>;

export const Workspace = z
  .object({ id: z.uuid(), name: z.string(), slug: z.string(), role: Role, sharedRunners: SharedRunners, createdAt: Timestamp })
  .meta({ id: "Workspace" });
export const CreateWorkspaceBody = z.strictObject({ name: z.string().trim().min(1).max(100) });
/** Rename, set the shared-runner policy, or both (owners and admins). */
export const UpdateWorkspaceBody = z
  .strictObject({ name: z.string().trim().min(1).max(100).optional(), sharedRunners: SharedRunners.optional() })
  .refine((b) => b.name !== undefined || b.sharedRunners !== undefined, "send name, sharedRunners or both");

export const Member = z.object({ userId: z.uuid(), email: z.string(), name: z.string().nullable(), role: Role, joinedAt: Timestamp }).meta({ id: "Member" });
export const AddMemberBody = z.strictObject({
  email: z
    .email()
    .max(254)
    .transform((e) => e.toLowerCase()),
  role: Role,
});
export const UpdateMemberBody = z.strictObject({ role: Role });
