/**
 * `sparki-runner`: `register` exchanges a registration token for a runner token and writes
 * the config; `run` claims and runs jobs until SIGTERM/SIGINT (with `--ephemeral`, one job).
 * `run` takes its settings from flags, then the environment (`SPARKI_URL`,
 * `SPARKI_RUNNER_TOKEN`), then the config file, so a container needs no file. One line per
 * event on stdout; a user error is one line on stderr and exit code 1; a bug prints its stack
 * and exits 70.
 */
import { mkdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { RunnerLabels, RunnerName } from "../core/contracts/runner.ts";
import { describeRuntimes, discoverRuntimes } from "./runtimes.ts";
import { Agent } from "./agent.ts";
import { ClaimRefusedError } from "./claim.ts";
import { ControlPlaneClient, HttpError, NetworkError, transientRetry } from "./client.ts";
import { retry } from "./backoff.ts";
import { defaultConfigPath, defaultGracePeriodSeconds, defaultWorkDir, poolOfToken, resolveRunSettings, runEnv, writeConfig } from "./config.ts";
import { decideSandbox, hiddenPaths, isLoopbackUrl, probeSandbox } from "../node/sandbox.ts";
import { decideStepNetwork, probeStepNetwork, type StepNetworkMode, stepNetworkModes } from "../node/step-network.ts";
import { dotSegment } from "../node/paths.ts";
import { UserError } from "../node/user-error.ts";
import type { RegisterResponse } from "../core/contracts/runner.ts";
import { logFormats, sayer, type LogFormat } from "./log-output.ts";
import { runnerTracing } from "./tracing.ts";

// The bundle (dev/bins.ts) has the version written in; from source it is read beside the checkout.
declare const SPARKI_VERSION: string | undefined;
const VERSION =
  typeof SPARKI_VERSION === "string"
    ? SPARKI_VERSION
    : (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

// `run --log-format json` switches every line, the final error's too, to the operators' JSON lines.
let logFormat = "text" as LogFormat;
let say = sayer(logFormat);

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function parseLabels(value: string): string[] {
  const labels = value
    .split(",")
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const parsed = RunnerLabels.safeParse(labels);
  if (!parsed.success) throw new UserError(`--labels: ${parsed.error.issues[0]?.message ?? "invalid"} (got ${JSON.stringify(value)})`);
  return parsed.data;
}

interface RegisterOptions {
  url: string;
  token: string;
  name: string;
  labels?: string;
  config?: string;
}

async function registerCommand(opts: RegisterOptions): Promise<void> {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new UserError(`--url ${JSON.stringify(opts.url)} is not a URL; pass the control plane's address, e.g. https://sparki.example.com`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UserError(`--url must be http:// or https://`);
  const name = RunnerName.safeParse(opts.name);
  if (!name.success) throw new UserError(`--name: ${name.error.issues[0]?.message ?? "invalid"}`);
  const labels = parseLabels(opts.labels ?? "");
  const client = new ControlPlaneClient(url.toString());
  let answer: RegisterResponse;
  try {
    // A control plane that is restarting (a deploy, or `wrangler dev` reloading) answers 5xx for
    // a moment; registering is worth a few tries before a person has to run it again.
    answer = await retry(() => client.register({ token: opts.token, name: name.data, labels, version: VERSION }), transientRetry(4));
  } catch (err) {
    if (err instanceof HttpError && err.status < 500) throw new UserError(`registration refused: ${err.detail} (HTTP ${err.status}); check --token`);
    if (err instanceof NetworkError || err instanceof HttpError) throw new UserError(`cannot register at ${url.origin}: ${err.message}`);
    throw err;
  }
  const path = resolve(opts.config ?? defaultConfigPath());
  const pool = poolOfToken(opts.token);
  await writeConfig(path, { url: client.baseUrl, runnerId: answer.runnerId, runnerToken: answer.runnerToken, name: name.data, labels, pool });
  say(`registered runner ${name.data} (${answer.runnerId}) in the ${pool} pool; config written to ${path}`);
}

interface RunOptions {
  config?: string;
  url?: string;
  token?: string;
  pool?: string;
  concurrency: number;
  workDir?: string;
  gracePeriod: number;
  sandbox: boolean;
  stepNetwork: StepNetworkMode;
  ephemeral?: boolean;
  logFormat: LogFormat;
}

/**
 * The work root, made now and resolved, so the sandbox hides it where it really is. Refused
 * when its real path has a segment beginning with a dot (runner/config.ts, dotSegment); the
 * default under the shared temp dir must be this user's own.
 */
function makeWorkDir(given: string | undefined, configPath: string): string {
  const chosen = resolve(given || defaultWorkDir(configPath));
  const plainPathHint = `pass --work-dir (or ${runEnv.workDir}) with a plain path`;
  const refuseDotted = (path: string) => {
    const segment = dotSegment(path);
    if (segment !== null) {
      throw new UserError(
        `the work folder ${path} has a segment beginning with a dot (${segment}), and test suites refuse to run under such paths (express's, for one); ${plainPathHint}`,
      );
    }
  };
  refuseDotted(chosen);
  try {
    mkdirSync(chosen, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new UserError(`cannot create the work folder ${chosen}: ${(err as Error).message}; pass --work-dir`);
  }
  const real = realpathSync(chosen);
  refuseDotted(real);
  if (!given && statSync(real).uid !== process.getuid?.()) {
    throw new UserError(`the work folder ${real} belongs to another user; ${plainPathHint}`);
  }
  return real;
}

const truthy = (value: string | undefined) => value !== undefined && /^(1|true|yes)$/i.test(value);

/**
 * Exit code of an ephemeral runner whose one job left it unfinished (handed back on shutdown,
 * or its lease lost): EX_TEMPFAIL, so an autoscaler's job controller sees a failed pod while
 * the job itself goes back to the queue for another runner.
 */
export const EPHEMERAL_JOB_NOT_RUN = 75;

async function runCommand(opts: RunOptions, command: Command): Promise<void> {
  logFormat = opts.logFormat;
  say = sayer(logFormat);
  const configPath = resolve(opts.config ?? defaultConfigPath());
  const config = await resolveRunSettings({
    flags: { url: opts.url, token: opts.token, pool: opts.pool },
    env: process.env,
    configPath,
    configNamed: opts.config !== undefined,
  });
  // One job means one slot: a larger --concurrency would be a promise the runner cannot keep.
  if (opts.ephemeral && command.getOptionValueSource("concurrency") === "cli" && opts.concurrency !== 1) {
    throw new UserError("--ephemeral takes exactly one job; leave out --concurrency");
  }
  say(
    `settings: url ${config.url} (${config.sources.url}), token (${config.sources.token})${config.sources.pool ? `, pool ${config.pool} (${config.sources.pool})` : ""}`,
  );
  const workDir = makeWorkDir(opts.workDir ?? process.env[runEnv.workDir], configPath);
  const noSandbox = !opts.sandbox || truthy(process.env.SPARKI_RUNNER_NO_SANDBOX);
  const probe = noSandbox ? ({ ok: false, reason: "not tried" } as const) : await probeSandbox();
  const decision = decideSandbox({ probe, noSandbox, pool: config.pool, localControlPlane: isLoopbackUrl(config.url) });
  if (decision.mode === "refuse") throw new UserError(decision.reason);
  say(decision.note);
  const sandboxed = decision.mode === "sandbox" && probe.ok;
  const stepNetwork = decideStepNetwork({
    mode: opts.stepNetwork,
    sandboxed,
    probe: sandboxed && opts.stepNetwork !== "host" ? await probeStepNetwork(probe.bwrap, workDir) : null,
  });
  if ("refuse" in stepNetwork) throw new UserError(stepNetwork.refuse);
  say(stepNetwork.note);
  const tracing = await runnerTracing(process.env, (message) => say(message, { level: "warn" }));
  // Found once: a runtime installed later is reported after a restart.
  const runtimes = await discoverRuntimes();
  say(`runtimes: ${describeRuntimes(runtimes)}`);
  const agent = new Agent({
    client: new ControlPlaneClient(config.url, config.runnerToken),
    labels: config.labels,
    concurrency: opts.ephemeral ? 1 : opts.concurrency,
    ...(opts.ephemeral ? { maxJobs: 1 } : {}),
    workDir,
    ...(sandboxed
      ? { sandbox: { bwrap: probe.bwrap, hidden: hiddenPaths({ configPath, workDir }), ...(stepNetwork.network ? { network: stepNetwork.network } : {}) } }
      : {}),
    graceMs: opts.gracePeriod * 1000,
    say,
    tracing,
    runtimes,
  });
  const onSignal = (signal: NodeJS.Signals) => {
    say(`received ${signal}`);
    agent.shutdown();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await agent.run();
  } catch (err) {
    if (err instanceof ClaimRefusedError) throw new UserError(err.message);
    throw err;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
  if (opts.ephemeral) {
    const [ended] = [...agent.ended.entries()];
    if (!ended) return say("ephemeral: stopped before any job came");
    const [jobId, end] = ended;
    if (end.kind === "completed") return say(`ephemeral: job ${jobId} reported ${end.status}; exiting`);
    // The runner could not see its job through: the control plane runs it elsewhere.
    throw new UserError(
      `ephemeral: job ${jobId} was not run to its end here (${end.kind === "released" ? "handed back on shutdown" : "its lease was lost"}); the control plane queues it again`,
      EPHEMERAL_JOB_NOT_RUN,
    );
  }
}

const program = new Command()
  .name("sparki-runner")
  .description("Sparki runner agent: runs build jobs on this host")
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

program
  .command("register")
  .description("register this host with a Sparki control plane and write the runner config")
  .requiredOption("--url <url>", "the control plane's address")
  .requiredOption("--token <token>", "a registration token (workspace or shared pool)")
  .requiredOption("--name <name>", "a name for this runner")
  .option("--labels <labels>", "comma-separated labels jobs can ask for", "")
  .option("--config <file>", "config file to write", undefined)
  .action(registerCommand);

program
  .command("run")
  .description(
    `claim and run jobs until SIGTERM or SIGINT; settings come from flags, then ${runEnv.url}, ${runEnv.token} and ${runEnv.pool}, then the config file`,
  )
  .option("--config <file>", "config file written by register (optional when the URL and token come from flags or the environment)")
  .option("--url <url>", `the control plane's address (env ${runEnv.url})`)
  .option("--token <token>", `the runner token from register (env ${runEnv.token}, which other users cannot read in the process list)`)
  .option("--pool <pool>", `shared or workspace: the pool the token was registered into (env ${runEnv.pool}; default: the file's, else shared)`)
  .option("--ephemeral", "take exactly one job, run it, report it and exit (0; 75 if the job was handed back or its lease lost)")
  .option("--concurrency <n>", "jobs run at the same time", positiveInt("--concurrency"), 1)
  .option(
    "--work-dir <dir>",
    `where jobs are checked out, a path with no segment beginning with a dot (env ${runEnv.workDir}; default: beside the config, or under the temp dir when that path has one)`,
  )
  .option(
    "--grace-period <seconds>",
    "on SIGTERM, how long running jobs may take before they are handed back",
    positiveInt("--grace-period"),
    defaultGracePeriodSeconds,
  )
  .option("--no-sandbox", "run steps without bubblewrap (a workspace's own runners only; also SPARKI_RUNNER_NO_SANDBOX=1)")
  .addOption(
    new Option(
      "--step-network <mode>",
      "a sandboxed step's network: isolated (its own, through slirp4netns, off this host's loopback), host (this host's), or auto (isolated where it works: slirp4netns and util-linux installed, user namespaces allowed for a runner without root)",
    )
      .choices(stepNetworkModes)
      .env("SPARKI_RUNNER_STEP_NETWORK")
      .default("auto"),
  )
  .addOption(new Option("--log-format <format>", "text for a terminal, json for a log shipper (one JSON object a line)").choices(logFormats).default("text"))
  .action(runCommand);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof UserError) {
    if (logFormat === "json") say(err.message, { level: "error" });
    else process.stderr.write(`sparki-runner: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof Error && "exitCode" in err && typeof err.exitCode === "number") {
    // commander already printed its message (bad flag, --help, --version).
    process.exitCode = err.exitCode;
  } else {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    if (logFormat === "json") say(`internal error, please report it: ${detail}`, { level: "error" });
    else process.stderr.write(`sparki-runner: internal error, please report it:\n${detail}\n`);
    process.exitCode = 70;
  }
}
