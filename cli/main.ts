import { Command } from "commander";
import { detectCommand, initCommand, pipelineCommand } from "./commands.ts";
import { UserError } from "./user-error.ts";

const program = new Command()
  .name("sparki")
  .description("Sparki: zero-configuration CI/CD")
  .showHelpAfterError()
  .exitOverride();

program
  .command("detect")
  .description("detect the language, framework, package manager, commands and output directory of a project")
  .argument("[dir]", "project folder", ".")
  .option("--json", "print one JSON object instead of the readable report")
  .action(detectCommand);

program
  .command("init")
  .description("write sparki.yml from what was detected (never overwrites an existing one)")
  .argument("[dir]", "project folder", ".")
  .action(initCommand);

program
  .command("pipeline")
  .description("print the pipeline Sparki would run for a project (detection + sparki.yml) as JSON")
  .argument("[dir]", "project folder", ".")
  .action(pipelineCommand);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof UserError) {
    process.stderr.write(`sparki: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof Error && "exitCode" in err && typeof err.exitCode === "number") {
    // commander already printed its usage message (unknown command, --help, --version).
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`sparki: internal error, please report it:\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  }
}
