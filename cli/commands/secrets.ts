import type { Command } from "commander";
import { minSecretLength } from "../../core/log/secret-forms.ts";
import { act, readStdin } from "../context.ts";
import { EXIT } from "../api.ts";
import { UserError } from "../../node/user-error.ts";
import { removeSecret, resolveProject, secrets, setSecret } from "../endpoints.ts";
import { ago, printJson, printTable } from "../output.ts";

export function registerSecrets(program: Command): void {
  const cmd = program.command("secrets").description("a project's secrets (values are never shown)");
  cmd
    .command("list", { isDefault: true })
    .description("list a project's secret names")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const list = await secrets(api, await resolveProject(api, opts.project as string | undefined, settings.workspaceId));
        if (json) return printJson(list);
        printTable(
          ["name", "created", "updated"],
          list.items.map((s) => [s.name, ago(s.createdAt), ago(s.updatedAt)]),
          "no secrets",
        );
      }),
    );
  cmd
    .command("set")
    .description("create or replace a secret; the value comes from stdin unless --value is given")
    .argument("<name>", "variable name, e.g. NPM_TOKEN")
    .option("--project <project>", "project id or name")
    .option("--value <value>", "the value (visible in your shell history and process list: prefer stdin)")
    .action(
      act(async ({ api, settings, json, opts }, name: string) => {
        const projectId = await resolveProject(api, opts.project as string | undefined, settings.workspaceId);
        const value = typeof opts.value === "string" ? opts.value : await readStdin();
        if (value.length < minSecretLength) {
          throw new UserError(`a secret's value must be at least ${minSecretLength} characters (shorter ones cannot be masked in logs)`, EXIT.usage);
        }
        const saved = await setSecret(api, projectId, name, value);
        if (json) return printJson(saved);
        process.stdout.write(`Secret ${saved.name} saved\n`);
      }),
    );
  cmd
    .command("rm")
    .alias("remove")
    .description("delete a secret")
    .argument("<name>", "variable name")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }, name: string) => {
        await removeSecret(api, await resolveProject(api, opts.project as string | undefined, settings.workspaceId), name);
        if (json) return printJson({ name, deleted: true });
        process.stdout.write(`Secret ${name} deleted\n`);
      }),
    );
}
