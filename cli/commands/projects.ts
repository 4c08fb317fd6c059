import type { Command } from "commander";
import { act } from "../context.ts";
import { gitUrlFromInput } from "../git-source.ts";
import { EXIT } from "../api.ts";
import { UserError } from "../../node/user-error.ts";
import { createProject, importGitHubProject, project, projects, requireId, requireWorkspace } from "../endpoints.ts";
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
    .description("create a project from a git repository (a URL, a folder on this machine, or a GitHub repository through the workspace's GitHub App)")
    .option("--name <name>", "project name (with --github: the repository's name by default)")
    .option("--git-url <url>", "the repository to build: https/ssh URL, or a local path such as '.' (made absolute)")
    .option("--github <owner/repo>", "import from GitHub: its clone URL and default branch come from GitHub (the workspace must have the app installed)")
    .option("--default-branch <branch>", "branch built by default", "main")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const ws = await requireWorkspace(api, settings.workspaceId);
        let created: Awaited<ReturnType<typeof createProject>>;
        if (opts.github !== undefined) {
          if (opts.gitUrl !== undefined) throw new UserError("give --github or --git-url, not both", EXIT.usage);
          created = await importGitHubProject(api, ws, { repository: String(opts.github), ...(opts.name === undefined ? {} : { name: String(opts.name) }) });
        } else {
          if (opts.name === undefined || opts.gitUrl === undefined) throw new UserError("give --name and --git-url (or --github owner/repo)", EXIT.usage);
          created = await createProject(api, ws, {
            name: String(opts.name),
            gitUrl: gitUrlFromInput(String(opts.gitUrl)),
            defaultBranch: String(opts.defaultBranch),
          });
        }
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
