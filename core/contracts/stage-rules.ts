import { z } from "zod";
import { PREVIEW_STAGE } from "../deploy/preview.ts";
import { APPROVER_ROLES } from "../deploy/stage-rules.ts";
import { branchPatternProblem } from "../pipeline/branches.ts";
import { Timestamp } from "./common.js";

/**
 * A stage's deployment rule, set per project by owners and admins: whether a person approves
 * before the stage deploys, which branches may deploy to it, and who may approve. A repository's
 * sparki.yml can only tighten it (core/deploy/stage-rules.ts).
 */

/** Stage names as sparki.yml writes them. */
export const StageName = z
  .string()
  .max(50)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, "stage names are lowercase kebab case, as in sparki.yml")
  // A rule there would be ignored (start-preview.ts), so setting one is refused rather than misleading.
  .refine((s) => !PREVIEW_STAGE.test(s), "pr-<number> stages are pull request previews, which stage rules do not govern");

export const BranchPattern = z.string().superRefine((p, ctx) => {
  const problem = branchPatternProblem(p);
  if (problem) ctx.addIssue({ code: "custom", message: `branch pattern ${problem}` });
});

export const ApproverRole = z.enum(APPROVER_ROLES);

export const StageRule = z
  .object({
    stage: z.string(),
    requireApproval: z.boolean(),
    /** Branch patterns (exact, `*` within a segment, `**` across) that may deploy to the stage. */
    branches: z.array(z.string()),
    approverRoles: z.array(ApproverRole),
    /** False for a stage of the newest pipeline that has no rule yet: it shows the default (the project's default branch only). */
    configured: z.boolean(),
    updatedBy: z.uuid().nullable(),
    updatedAt: Timestamp.nullable(),
  })
  .meta({ id: "StageRule" });
export type StageRule = z.infer<typeof StageRule>;

export const StageRuleList = z.object({
  /** What a stage without a rule accepts. */
  defaultBranch: z.string(),
  items: z.array(StageRule),
});
export type StageRuleList = z.infer<typeof StageRuleList>;

export const PutStageRuleBody = z.strictObject({
  requireApproval: z.boolean(),
  branches: z
    .array(BranchPattern)
    .min(1, "name at least one branch; to stop a stage deploying, remove it from sparki.yml")
    .max(50)
    .refine((b) => new Set(b).size === b.length, "a branch pattern appears twice"),
  /** Who may approve; by default owners and admins. */
  approverRoles: z
    .array(ApproverRole)
    .min(1)
    .refine((r) => new Set(r).size === r.length, "a role appears twice")
    .default([...APPROVER_ROLES]),
});
export type PutStageRuleBody = z.infer<typeof PutStageRuleBody>;
