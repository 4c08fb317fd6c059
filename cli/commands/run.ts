/**
 * `sparki run [dir]`: the project's pipeline (detection + sparki.yml, what `sparki pipeline`
 * prints) run on this machine with no server, through the runner's own step code (node/): each
 * job in a fresh folder of its own with a copy of the project, its steps in the bubblewrap
 * sandbox where it works, the same environment and masking, the log in the terminal and the
 * build's outcome as the exit code.
 */
import type { Command } from "commander";

export interface RunCommandOptions {
  job?: string;
  secret?: string[];
  sandbox: boolean;
  keep?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("run the project's pipeline (detection + sparki.yml) here, as a runner would, with no server; exits with the build's outcome")
    .argument("[dir]", "project folder", ".")
    .option("--job <job>", "run only this job (its id or name in `sparki pipeline`), without the jobs it needs")
    .option(
      "--secret <NAME>",
      "give the steps the environment variable NAME as a secret, masked in the output (repeatable)",
      (name: string, names: string[] | undefined) => [...(names ?? []), name],
    )
    .option("--no-sandbox", "run the steps without bubblewrap (they then run as you, with your files)")
    .option("--keep", "keep the jobs' folders (printed at the end) instead of removing them")
    // The detector and the step code are loaded only when a run starts.
    .action(async (dir: string, opts: RunCommandOptions) => (await import("./run-pipeline.ts")).runPipeline(dir, opts));
}
