import type { Command } from "commander";
import type { Deployment } from "../../core/contracts/deployments.ts";
import type { ApiClient } from "../api.ts";
import { act } from "../context.ts";
import { followDeployment } from "../deploy-stream.ts";
import { approveDeployment, cancelDeployment, deployBuild, deployment, deployments, requireId, resolveProject, rollbackDeployment } from "../endpoints.ts";
import { ago, printFields, printJson, printTable, spinner, status } from "../output.ts";
import { UserError } from "../../node/user-error.ts";

/**
 * "—" for a stage without a gate; who may approve while it waits; who approved once someone did
 * (an approval without its approver: their account was deleted since).
 */
function approval(s: Deployment["stages"][number]): string {
  if (s.approvedBy) return `by ${s.approvedBy.email}`;
  if (s.approvedAt) return "by a deleted user";
  return s.approval ? `needs ${s.approverRoles.join(" or ")}` : "—";
}

function printDeployment(d: Deployment): void {
  printFields([
    ["deployment", d.id],
    ["status", status(d.status)],
    ["build", d.buildId],
    ["branch", d.branch],
    ["commit", d.commitSha?.slice(0, 12)],
    ["trigger", d.trigger],
    ["reason", d.reason],
    ["created", d.createdAt],
  ]);
  if (d.stages.length) {
    process.stdout.write("\n");
    printTable(
      ["stage", "platform", "strategy", "status", "traffic", "checks", "approval", "url"],
      d.stages.map((s) => [s.name, s.platform, s.strategy, status(s.status), `${s.trafficPercent}%`, `${s.passes}✓ ${s.failures}✗`, approval(s), s.url]),
    );
  }
}

/** Prints events as they come until the deployment finishes; exit 0 when it ended as `goal`. */
async function follow(api: ApiClient, id: string, json: boolean, goal: "succeeded" | "rolled_back" = "succeeded"): Promise<void> {
  const wait = spinner("deploying…");
  const final = await followDeployment(api, id, {
    onEvent: (e, d) => {
      wait.stop();
      if (json) process.stdout.write(`${JSON.stringify(e)}\n`);
      else process.stdout.write(`${e.at.slice(11, 19)}  ${(e.stage ?? "").padEnd(12)} ${e.type.padEnd(16)} ${e.message}\n`);
      if (!json && e.type === "approval_needed") process.stderr.write(`waiting for approval: sparki deployments approve ${d.id}\n`);
      wait.text(`${d.status}…`);
    },
  });
  wait.stop();
  if (final.status !== goal) throw new UserError(`deployment ${final.status}${final.reason ? `: ${final.reason}` : ""}`, 1);
}

async function answer(d: Deployment, json: boolean, what: string): Promise<void> {
  if (json) printJson(d);
  else process.stdout.write(`${what}: deployment ${d.id} is ${d.status}\n`);
}

export function registerDeploy(program: Command): void {
  program
    .command("deploy")
    .description("deploy a build (every stage in order, or up to --stage)")
    .argument("<build>", "build id")
    .option("--stage <stage>", "deploy only up to this stage")
    .option("-f, --follow", "print the events live; exit 0 when the deployment succeeds")
    .action(
      act(async ({ api, json, opts }, buildId: string) => {
        const d = await deployBuild(api, requireId("build", buildId), opts.stage as string | undefined);
        if (!opts.follow) return answer(d, json, "Started");
        process.stderr.write(`Deployment ${d.id} started\n`);
        await follow(api, d.id, json);
      }),
    );
  program
    .command("rollback")
    .description("roll a deployment back (to each stage's last healthy deployment, or to --to)")
    .argument("<deployment>", "deployment id")
    .option("--to <deployment>", "an earlier deployment of the project to put back")
    .option("-f, --follow", "print the events live")
    .action(
      act(async ({ api, json, opts }, id: string) => {
        const to = opts.to === undefined ? undefined : requireId("deployment", String(opts.to));
        const d = await rollbackDeployment(api, requireId("deployment", id), to);
        if (opts.follow) return follow(api, d.id, json, "rolled_back");
        await answer(d, json, "Rolling back");
      }),
    );

  const cmd = program.command("deployments").description("list, show, approve and cancel deployments");
  cmd
    .command("list", { isDefault: true })
    .description("a project's deployments, newest first")
    .option("--project <project>", "project id or name")
    .option("--status <status>", "only deployments in this status")
    .option("--limit <n>", "how many", "25")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const projectId = await resolveProject(api, opts.project as string | undefined, settings.workspaceId);
        const page = await deployments(api, projectId, { status: opts.status as string | undefined, limit: Number(opts.limit) });
        if (json) return printJson(page);
        printTable(
          ["id", "status", "branch", "commit", "trigger", "created", "reason"],
          page.items.map((d) => [d.id, status(d.status), d.branch, d.commitSha?.slice(0, 8), d.trigger, ago(d.createdAt), d.reason]),
          "no deployments",
        );
      }),
    );
  cmd
    .command("show")
    .description("a deployment with its stages and events")
    .argument("<deployment>", "deployment id")
    .option("-f, --follow", "then print new events until it finishes")
    .action(
      act(async ({ api, json, opts }, id: string) => {
        if (opts.follow) return follow(api, requireId("deployment", id), json);
        const d = await deployment(api, requireId("deployment", id));
        if (json) return printJson(d);
        printDeployment(d);
        if (d.events.length) {
          process.stdout.write("\n");
          printTable(
            ["at", "stage", "event", "message"],
            d.events.map((e) => [e.at.replace("T", " ").slice(0, 19), e.stage, e.type, e.message]),
          );
        }
      }),
    );
  for (const [verb, fn, text] of [
    ["approve", approveDeployment, "approve the stage waiting for approval"],
    ["cancel", cancelDeployment, "cancel a deployment in progress"],
  ] as const) {
    cmd
      .command(verb)
      .description(text)
      .argument("<deployment>", "deployment id")
      .action(
        act(async ({ api, json }, id: string) => answer(await fn(api, requireId("deployment", id)), json, verb === "approve" ? "Approved" : "Cancelled")),
      );
  }
}
