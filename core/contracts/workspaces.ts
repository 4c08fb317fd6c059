import { z } from "zod";
import { Timestamp } from "./common.js";
import { roles } from "../rbac.js";

export const Role = z.enum(roles);

export const Workspace = z
  .object({ id: z.uuid(), name: z.string(), slug: z.string(), role: Role, createdAt: Timestamp })
  .meta({ id: "Workspace" });
export const CreateWorkspaceBody = z.strictObject({ name: z.string().trim().min(1).max(100) });
export const UpdateWorkspaceBody = z.strictObject({ name: z.string().trim().min(1).max(100) });

export const Member = z
  .object({ userId: z.uuid(), email: z.string(), name: z.string().nullable(), role: Role, joinedAt: Timestamp })
  .meta({ id: "Member" });
export const AddMemberBody = z.strictObject({ email: z.email().max(254).transform((e) => e.toLowerCase()), role: Role });
export const UpdateMemberBody = z.strictObject({ role: Role });
