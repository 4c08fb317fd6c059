import type { Command } from "commander";
import { act } from "../context.ts";
import { gitUrlFromInput } from "../git-source.ts";
import { createProject, project, projects, requireId, requireWorkspace } from "../endpoints.ts";
import { ago, printFields, printJson, printTable } from "../output.ts";

export function registerProjects(program: Command): void {
  const cmd = program.command("projects").description("list, create and show projects of the current workspace");
  cmd
    .command("list", { isDefault: true })
    .description("list the workspace's projects")
    .action(
      act(async ({ api, settings, json }) => {
        const page = await projects(api, await requireWorkspace(api, settings.workspaceId));
        if (json) return printJson(page);
        printTable(
          ["id", "name", "framework", "branch", "git url", "created"],
          page.items.map((p) => [p.id, p.name, p.framework, p.defaultBranch, p.gitUrl, ago(p.createdAt)]),
          "no projects yet; 'sparki projects create --name N --git-url U'",
        );
      }),
    );
  cmd
    .command("create")
    .description("create a project from a git repository (a URL, or a folder on this machine)")
    .requiredOption("--name <name>", "project name")
    .requiredOption("--git-url <url>", "the repository to build: https/ssh URL, or a local path such as '.' (made absolute)")
    .option("--default-branch <branch>", "branch built by default", "main")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const ws = await requireWorkspace(api, settings.workspaceId);
        const created = await createProject(api, ws, {
          name: String(opts.name),
          gitUrl: gitUrlFromInput(String(opts.gitUrl)),
          defaultBranch: String(opts.defaultBranch),
        });
        if (json) return printJson(created);
        process.stdout.write(`Created project ${created.name} (${created.id}); build it: sparki builds trigger --project ${created.id} --follow\n`);
      }),
    );
  cmd
    .command("show")
    .description("show one project")
    .argument("<id>", "project id")
    .action(
      act(async ({ api, json }, id: string) => {
        const p = await project(api, requireId("project", id));
        if (json) return printJson(p);
        printFields([
          ["id", p.id],
          ["name", p.name],
          ["git url", p.gitUrl],
          ["default branch", p.defaultBranch],
          ["language", p.language],
          ["framework", p.framework],
          ["created", p.createdAt],
        ]);
      }),
    );
}
