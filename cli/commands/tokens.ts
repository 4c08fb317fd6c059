import { type Command, Option } from "commander";
import { scopes, type Scope } from "../../core/scopes.ts";
import { EXIT } from "../api.ts";
import { act } from "../context.ts";
import { createToken, revokeToken, tokens } from "../endpoints.ts";
import { ago, printJson, printTable } from "../output.ts";
import { UserError } from "../../node/user-error.ts";

/** `sparki tokens`: personal API tokens, for CI and scripts. */
export function registerTokens(program: Command): void {
  const cmd = program.command("tokens").description("your personal API tokens (values are shown once, at creation)");
  cmd
    .command("list", { isDefault: true })
    .description("list your API tokens")
    .action(
      act(async ({ api, json }) => {
        const list = await tokens(api);
        if (json) return printJson(list);
        printTable(
          ["id", "name", "scope", "prefix", "created", "last used", "expires"],
          list.items.map((t) => [t.id, t.name, t.scope, t.prefix, ago(t.createdAt), ago(t.lastUsedAt), t.expiresAt ?? "never"]),
          "no tokens",
        );
      }),
    );
  cmd
    .command("create")
    .description("create an API token and print it once (never broader than the token you use)")
    .argument("<name>", "what the token is for, e.g. 'GitHub Actions'")
    .addOption(
      new Option("--scope <scope>", "read: reading only; write: builds and deployments, no administration; admin: everything").choices(scopes).default("read"),
    )
    .option("--expires-in-days <days>", "expire after this many days")
    .action(
      act(async ({ api, json, opts }, name: string) => {
        const days = opts.expiresInDays === undefined ? undefined : Number(opts.expiresInDays);
        if (days !== undefined && (!Number.isInteger(days) || days < 1))
          throw new UserError("--expires-in-days must be a whole number of days, 1 or more", EXIT.usage);
        const created = await createToken(api, name, { scope: opts.scope as Scope, ...(days !== undefined ? { expiresInDays: days } : {}) });
        if (json) return printJson(created);
        process.stdout.write(`${created.token}\n`);
        process.stderr.write(`Token ${created.name} (${created.scope}) created; it is shown only this once.\n`);
      }),
    );
  cmd
    .command("rm")
    .alias("remove")
    .description("delete an API token; it stops working at once")
    .argument("<id>", "the token's id (see 'sparki tokens')")
    .action(
      act(async ({ api, json }, id: string) => {
        await revokeToken(api, id);
        if (json) return printJson({ id, deleted: true });
        process.stdout.write(`Token ${id} deleted\n`);
      }),
    );
}
