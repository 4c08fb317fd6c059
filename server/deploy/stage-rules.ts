/**
 * Stage rules as Postgres keeps them (`stage_rules`), read into the shape core/deploy/stage-rules.ts
 * merges. A row holds jsonb the API validated when it was written; it is parsed again here so a
 * row edited by hand can only make a stage refuse more, never crash or widen it.
 */
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { APPROVER_ROLES, type StageRule } from "../../core/deploy/stage-rules.ts";
import type { Db } from "../db/client.js";
import { stageRules } from "../db/schema.js";

type Row = typeof stageRules.$inferSelect;

const Branches = z.array(z.string());
const Roles = z.array(z.unknown());

/** The rule a row holds: unreadable branches accept none, unreadable roles fall back to owners only. */
export function ruleOf(row: Pick<Row, "requireApproval" | "branches" | "approverRoles">): StageRule {
  const branches = Branches.safeParse(row.branches);
  const roles = Roles.safeParse(row.approverRoles);
  const approverRoles = APPROVER_ROLES.filter((r) => roles.success && roles.data.includes(r));
  return {
    requireApproval: row.requireApproval,
    branches: branches.success ? branches.data : [],
    approverRoles: approverRoles.length ? approverRoles : ["owner"],
  };
}

/** Every rule of a project, by stage. */
export async function stageRulesOf(db: Db, projectId: string): Promise<Map<string, StageRule>> {
  const rows = await db.select().from(stageRules).where(eq(stageRules.projectId, projectId));
  return new Map(rows.map((r) => [r.stage, ruleOf(r)]));
}

/** One stage's rule, or null when none is set. */
export async function stageRuleOf(db: Db, projectId: string, stage: string): Promise<StageRule | null> {
  const [row] = await db
    .select()
    .from(stageRules)
    .where(and(eq(stageRules.projectId, projectId), eq(stageRules.stage, stage)));
  return row ? ruleOf(row) : null;
}
