import type { Command } from "commander";
import { saveConfig } from "../config.ts";
import { act } from "../context.ts";
import { createWorkspace, me, requireWorkspace, runners } from "../endpoints.ts";
import { SharedRunners, Workspace } from "../../core/contracts/workspaces.ts";
import { ago, printJson, printTable } from "../output.ts";
import { UserError } from "../../node/user-error.ts";

export function registerWorkspaces(program: Command): void {
  const workspaces = program.command("workspaces").description("list, create and choose your workspaces");
  workspaces
    .command("list", { isDefault: true })
    .description("list your workspaces (* marks the current one)")
    .action(
      act(async ({ api, settings, json }) => {
        const who = await me(api);
        if (json) return printJson(who.workspaces);
        printTable(
          ["", "id", "slug", "name", "role"],
          who.workspaces.map((w) => [w.id === settings.workspaceId ? "*" : "", w.id, w.slug, w.name, w.role]),
          "no workspaces yet",
        );
      }),
    );
  workspaces
    .command("create")
    .description("create a workspace (you become its owner); it becomes the current one when none is")
    .argument("<name>", "workspace name")
    .action(
      act(async ({ api, settings, json }, name: string) => {
        const created = await createWorkspace(api, name);
        const current = !settings.workspaceId;
        if (current) await saveConfig({ ...settings.saved, workspaceId: created.id });
        if (json) return printJson(created);
        process.stdout.write(
          `Created workspace ${created.name} (${created.slug}, ${created.id})${current ? "; it is the current one" : `; 'sparki workspaces use ${created.slug}' makes it the current one`}\n`,
        );
      }),
    );
  workspaces
    .command("use")
    .description("make a workspace (id, slug or name) the current one")
    .argument("<workspace>", "id, slug or name")
    .action(
      act(async ({ api, settings, json }, ref: string) => {
        const id = await requireWorkspace(api, ref);
        await saveConfig({ ...settings.saved, workspaceId: id });
        if (json) printJson({ workspaceId: id });
        else process.stdout.write(`Current workspace: ${id}\n`);
      }),
    );

  workspaces
    .command("set-shared-runners")
    .description("choose which of the current workspace's jobs the instance's shared runners may take (owners and admins)")
    .argument("<policy>", "never | no-secrets (the default: only builds of projects without secrets) | always")
    .action(
      act(async ({ api, settings, json }, policy: string) => {
        const chosen = SharedRunners.safeParse(policy);
        if (!chosen.success) throw new UserError(`'${policy}' is not a policy; use never, no-secrets or always`);
        const id = await requireWorkspace(api, settings.workspaceId);
        const updated = await api.call("PATCH", `/v1/workspaces/${encodeURIComponent(id)}`, Workspace, { body: { sharedRunners: chosen.data } });
        if (json) return printJson(updated);
        process.stdout.write(`Shared runners in ${updated.name}: ${describePolicy(updated.sharedRunners)}\n`);
      }),
    );

  const runnersCommand = program.command("runners").description("the current workspace's own runners: list them, revoke one");
  runnersCommand
    .command("ls", { isDefault: true })
    .alias("list")
    .description("list the runners registered in the current workspace's pool")
    .action(
      act(async ({ api, settings, json }) => {
        const list = await runners(api, await requireWorkspace(api, settings.workspaceId));
        if (json) return printJson(list);
        printTable(
          ["id", "name", "labels", "version", "last seen"],
          list.items.map((r) => [r.id, r.name, r.labels.join(","), r.version, ago(r.lastSeenAt)]),
          "no runners in this workspace's pool (shared runners are not listed)",
        );
      }),
    );
  runnersCommand
    .command("rm")
    .alias("revoke")
    .description("revoke a runner at once: its token stops working and the jobs it holds go back to the queue")
    .argument("<runner>", "runner id (see 'sparki runners')")
    .action(
      act(async ({ api, settings, json }, runnerId: string) => {
        const id = await requireWorkspace(api, settings.workspaceId);
        await api.send("DELETE", `/v1/workspaces/${encodeURIComponent(id)}/runners/${encodeURIComponent(runnerId)}`);
        if (json) return printJson({ revoked: runnerId });
        process.stdout.write(`Revoked runner ${runnerId}; register the host again to bring it back.\n`);
      }),
    );
}

function describePolicy(policy: SharedRunners): string {
  if (policy === "never") return "never (only this workspace's own runners run its jobs)";
  if (policy === "always") return "always (shared runners take every job, secrets included)";
  return "no-secrets (shared runners take only builds of projects without secrets)";
}
