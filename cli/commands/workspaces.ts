import type { Command } from "commander";
import { saveConfig } from "../config.ts";
import { act } from "../context.ts";
import { me, requireWorkspace, runners } from "../endpoints.ts";
import { ago, printJson, printTable } from "../output.ts";

export function registerWorkspaces(program: Command): void {
  const workspaces = program.command("workspaces").description("list your workspaces and choose the current one");
  workspaces
    .command("list", { isDefault: true })
    .description("list your workspaces (* marks the current one)")
    .action(
      act(async ({ api, settings, json }) => {
        const who = await me(api);
        if (json) return printJson(who.workspaces);
        printTable(["", "id", "slug", "name", "role"], who.workspaces.map((w) => [w.id === settings.workspaceId ? "*" : "", w.id, w.slug, w.name, w.role]), "no workspaces yet");
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

  program
    .command("runners")
    .description("list the runners registered in the current workspace's pool")
    .action(
      act(async ({ api, settings, json }) => {
        const list = await runners(api, await requireWorkspace(api, settings.workspaceId));
        if (json) return printJson(list);
        printTable(["id", "name", "labels", "version", "last seen"], list.items.map((r) => [r.id, r.name, r.labels.join(","), r.version, ago(r.lastSeenAt)]), "no runners in this workspace's pool (shared runners are not listed)");
      }),
    );
}
