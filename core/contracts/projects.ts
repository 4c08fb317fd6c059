import { z } from "zod";
import { BranchName as Branch, Timestamp } from "./common.js";
import { checkGitUrl } from "../git-url.js";

const GitUrl = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const check = checkGitUrl(value);
    if (!check.ok) ctx.addIssue({ code: "custom", message: `git URL ${check.reason}` });
  });

export const Project = z
  .object({
    id: z.uuid(),
    workspaceId: z.uuid(),
    name: z.string(),
    gitUrl: z.string(),
    defaultBranch: z.string(),
    framework: z.string().nullable(),
    language: z.string().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: "Project" });
export type Project = z.infer<typeof Project>;

const ProjectName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[\w.-][\w .-]*$/, "may contain letters, digits, spaces, '.', '_' and '-'");

export const CreateProjectBody = z.strictObject({
  name: ProjectName,
  gitUrl: GitUrl,
  defaultBranch: Branch.default("main"),
});
export const UpdateProjectBody = z
  .strictObject({ name: ProjectName.optional(), gitUrl: GitUrl.optional(), defaultBranch: Branch.optional() })
  .refine((b) => Object.keys(b).length > 0, "give at least one field to change");
