/**
 * `sparki-runner`: `register` exchanges a registration token for a runner token and writes
 * the config; `run` claims and runs jobs until SIGTERM/SIGINT. One line per event on stdout;
 * a user error is one line on stderr and exit code 1; a bug prints its stack and exits 70.
 */
import { mkdirSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { RunnerLabels, RunnerName } from "../core/contracts/runner.ts";
import { Agent } from "./agent.ts";
import { ClaimRefusedError } from "./claim.ts";
import { ControlPlaneClient, HttpError, NetworkError } from "./client.ts";
import { defaultConfigPath, poolOfToken, readConfig, writeConfig } from "./config.ts";
import { decideSandbox, hiddenPaths, isLoopbackUrl, probeSandbox } from "./sandbox.ts";
import { UserError } from "../node/user-error.ts";
import type { RegisterResponse } from "../core/contracts/runner.ts";

// The bundle (dev/bins.ts) has the version written in; from source it is read beside the checkout.
declare const SPARKI_VERSION: string | undefined;
const VERSION =
  typeof SPARKI_VERSION === "string"
    ? SPARKI_VERSION
    : (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

function say(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

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
    answer = await client.register({ token: opts.token, name: name.data, labels, version: VERSION });
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
  concurrency: number;
  workDir?: string;
  gracePeriod: number;
  sandbox: boolean;
}

const truthy = (value: string | undefined) => value !== undefined && /^(1|true|yes)$/i.test(value);

async function runCommand(opts: RunOptions): Promise<void> {
  const configPath = resolve(opts.config ?? defaultConfigPath());
  const config = await readConfig(configPath);
  // The work root is made now and resolved, so the sandbox hides it where it really is.
  const workDir = resolve(opts.workDir ?? join(dirname(configPath), "work"));
  try {
    mkdirSync(workDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new UserError(`cannot create the work folder ${workDir}: ${(err as Error).message}; pass --work-dir`);
  }
  const noSandbox = !opts.sandbox || truthy(process.env.SPARKI_RUNNER_NO_SANDBOX);
  const probe = noSandbox ? ({ ok: false, reason: "not tried" } as const) : await probeSandbox();
  const decision = decideSandbox({ probe, noSandbox, pool: config.pool, localControlPlane: isLoopbackUrl(config.url) });
  if (decision.mode === "refuse") throw new UserError(decision.reason);
  say(decision.note);
  const agent = new Agent({
    client: new ControlPlaneClient(config.url, config.runnerToken),
    labels: config.labels,
    concurrency: opts.concurrency,
    workDir: realpathSync(workDir),
    ...(decision.mode === "sandbox" && probe.ok ? { sandbox: { bwrap: probe.bwrap, hidden: hiddenPaths({ configPath, workDir }) } } : {}),
    graceMs: opts.gracePeriod * 1000,
    say,
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
  .description("claim and run jobs until SIGTERM or SIGINT")
  .option("--config <file>", "config file written by register")
  .option("--concurrency <n>", "jobs run at the same time", positiveInt("--concurrency"), 1)
  .option("--work-dir <dir>", "where jobs are checked out (default: beside the config)")
  .option("--grace-period <seconds>", "on SIGTERM, how long running jobs may take before they are handed back", positiveInt("--grace-period"), 600)
  .option("--no-sandbox", "run steps without bubblewrap (a workspace's own runners only; also SPARKI_RUNNER_NO_SANDBOX=1)")
  .action(runCommand);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof UserError) {
    process.stderr.write(`sparki-runner: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof Error && "exitCode" in err && typeof err.exitCode === "number") {
    // commander already printed its message (bad flag, --help, --version).
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`sparki-runner: internal error, please report it:\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  }
}
