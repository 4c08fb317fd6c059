import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { EXIT } from "./api.ts";
import { registerAuth } from "./commands/auth.ts";
import { registerBuilds } from "./commands/builds.ts";
import { registerCompletion } from "./commands/completion.ts";
import { registerDeploy } from "./commands/deploy.ts";
import { registerHooks } from "./commands/hooks.ts";
import { registerNotifications } from "./commands/notifications.ts";
import { registerProjects } from "./commands/projects.ts";
import { registerRun } from "./commands/run.ts";
import { registerSecrets } from "./commands/secrets.ts";
import { registerStages } from "./commands/stages.ts";
import { registerTokens } from "./commands/tokens.ts";
import { registerTui } from "./commands/tui.ts";
import { registerWorkspaces } from "./commands/workspaces.ts";
import { UserError } from "../node/user-error.ts";

// The bundle (dev/bins.ts) has the version written in; from source it is read from cli/package.json.
declare const SPARKI_VERSION: string | undefined;
const VERSION =
  typeof SPARKI_VERSION === "string"
    ? SPARKI_VERSION
    : (JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { version: string }).version;

const program = new Command()
  .name("sparki")
  .version(VERSION)
  .description("Sparki: zero-configuration CI/CD")
  .showHelpAfterError()
  .configureHelp({ showGlobalOptions: true })
  .exitOverride()
  .addOption(new Option("--url <url>", "the Sparki server (default: $SPARKI_URL, the saved one, http://127.0.0.1:8787)"))
  .addOption(new Option("--workspace <workspace>", "workspace id or slug (default: the one chosen with 'sparki workspaces use')"));

program
  .command("detect")
  .description("detect the language, framework, package manager, commands and output directory of a project")
  .argument("[dir]", "project folder", ".")
  .option("--json", "print one JSON object instead of the readable report")
  // The detector is large: loaded only by the commands that use it.
  .action(async (dir: string, opts: { json?: boolean }) => (await import("./commands.ts")).detectCommand(dir, opts));

program
  .command("init")
  .description("write sparki.yml from what was detected (never overwrites an existing one)")
  .argument("[dir]", "project folder", ".")
  .action(async (dir: string) => (await import("./commands.ts")).initCommand(dir));

program
  .command("pipeline")
  .description("show the pipeline Sparki would run for a project (detection + sparki.yml), each value with its source")
  .argument("[dir]", "project folder", ".")
  .option("--json", "print the pipeline itself as canonical JSON, as a build stores it")
  .action(async (dir: string, opts: { json?: boolean }) => (await import("./commands.ts")).pipelineCommand(dir, opts));

registerRun(program);

registerAuth(program);
registerWorkspaces(program);
registerProjects(program);
registerBuilds(program);
registerSecrets(program);
registerHooks(program);
registerNotifications(program);
registerTokens(program);
registerDeploy(program);
registerStages(program);
registerTui(program);
registerCompletion(program);

// Every API command that prints something takes --json (the parsed API answer instead of a table).
const noJson = new Set(["init", "pipeline", "run", "completion", "tui", "logs"]);
const addJson = (cmd: Command) => {
  if (cmd.commands.length) return cmd.commands.forEach(addJson);
  if (!noJson.has(cmd.name()) && !cmd.options.some((o) => o.long === "--json")) cmd.option("--json", "print the API's JSON answer instead of a table");
};
program.commands.forEach(addJson);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof UserError) {
    process.stderr.write(`sparki: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof Error && "exitCode" in err && typeof err.exitCode === "number") {
    // commander already printed its message (unknown command or option, --help, --version):
    // anything but help and version is a usage error.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
  } else {
    process.stderr.write(`sparki: internal error, please report it:\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  }
}
