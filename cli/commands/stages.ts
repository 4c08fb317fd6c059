import type { Command } from "commander";
import type { StageRule } from "../../core/contracts/stage-rules.ts";
import { APPROVER_ROLES, type ApproverRole } from "../../core/deploy/stage-rules.ts";
import { EXIT } from "../api.ts";
import { act } from "../context.ts";
import { removeStageRule, resolveProject, setStageRule, stageRules } from "../endpoints.ts";
import { ago, printJson, printTable } from "../output.ts";
import { UserError } from "../../node/user-error.ts";

/** `--branches main,release/*` and `--approvers owner,admin`: comma-separated, blanks dropped. */
const list = (value: string) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function approvers(value: string): ApproverRole[] {
  const roles = list(value);
  const bad = roles.filter((r) => !(APPROVER_ROLES as readonly string[]).includes(r));
  if (bad.length || roles.length === 0) throw new UserError(`--approvers takes ${APPROVER_ROLES.join(", ")} (comma-separated), not ${value}`, EXIT.usage);
  return roles as ApproverRole[];
}

const row = (r: StageRule) => [
  r.stage,
  r.requireApproval ? "required" : "no",
  r.branches.join(", ") || "(none)",
  r.approverRoles.join(", "),
  r.configured ? `rule, ${r.updatedAt ? ago(r.updatedAt) : ""}` : "default",
];

/** `sparki stages ls|set|rm`: each stage's deployment rule on the server (sparki.yml can only tighten it). */
export function registerStages(program: Command): void {
  const cmd = program
    .command("stages")
    .description("a project's deployment rules per stage: approval, branches that may deploy, approvers (owners and admins set them)");
  cmd
    .command("ls", { isDefault: true })
    .alias("list")
    .description("each stage's rule; stages without one accept only the project's default branch")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const rules = await stageRules(api, await resolveProject(api, opts.project as string | undefined, settings.workspaceId));
        if (json) return printJson(rules);
        printTable(
          ["stage", "approval", "branches", "approvers", "set by"],
          rules.items.map(row),
          `no stages yet; without a rule a stage accepts only ${rules.defaultBranch}`,
        );
      }),
    );
  cmd
    .command("set")
    .description("set a stage's rule; flags left out keep the stage's current rule (or the default)")
    .argument("<stage>", "stage name, as in sparki.yml")
    .option("--project <project>", "project id or name")
    .option("--approval", "a person approves before the stage deploys")
    .option("--no-approval", "no approval from the server (sparki.yml may still ask for one)")
    .option("--branches <patterns>", "branches that may deploy, comma-separated: main,release/*")
    .option("--approvers <roles>", "who may approve: owner,admin or owner")
    .action(
      act(async ({ api, settings, json, opts }, stage: string) => {
        const projectId = await resolveProject(api, opts.project as string | undefined, settings.workspaceId);
        const current = await stageRules(api, projectId);
        const base = current.items.find((r) => r.stage === stage) ?? {
          requireApproval: false,
          branches: [current.defaultBranch],
          approverRoles: [...APPROVER_ROLES],
        };
        const branches = typeof opts.branches === "string" ? list(opts.branches) : base.branches;
        if (branches.length === 0) throw new UserError("--branches needs at least one branch, e.g. --branches main", EXIT.usage);
        const saved = await setStageRule(api, projectId, stage, {
          requireApproval: typeof opts.approval === "boolean" ? opts.approval : base.requireApproval,
          branches,
          approverRoles: typeof opts.approvers === "string" ? approvers(opts.approvers) : base.approverRoles,
        });
        if (json) return printJson(saved);
        printTable(["stage", "approval", "branches", "approvers", "set by"], [row(saved)]);
      }),
    );
  cmd
    .command("rm")
    .alias("remove")
    .description("remove a stage's rule: it then accepts only the project's default branch")
    .argument("<stage>", "stage name")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }, stage: string) => {
        await removeStageRule(api, await resolveProject(api, opts.project as string | undefined, settings.workspaceId), stage);
        if (json) return printJson({ stage, deleted: true });
        process.stdout.write(`Rule of stage ${stage} removed; it now accepts only the project's default branch\n`);
      }),
    );
}
