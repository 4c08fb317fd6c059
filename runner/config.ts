/**
 * The runner's config file: where the control plane is and the runner token that
 * `sparki-runner register` obtained. Written 0600 because the token is a credential.
 */
import { createHash } from "node:crypto";
import { access, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { RunnerLabels, RunnerName } from "../core/contracts/runner.ts";
import { dotSegment, scratchRoot } from "../node/paths.ts";
import { UserError } from "../node/user-error.ts";

export const RunnerConfig = z.object({
  url: z.url({ protocol: /^https?$/ }),
  runnerId: z.string().min(1),
  runnerToken: z.string().min(1),
  name: RunnerName,
  labels: RunnerLabels,
  /**
   * The pool the runner was registered into: `shared` (the instance's shared token: any
   * workspace's jobs) or `workspace` (a workspace's `srg_` token). Decides whether it may run
   * steps unsandboxed (node/sandbox.ts). Absent in configs written before it was recorded.
   */
  pool: z.enum(["shared", "workspace"]).optional(),
});
export type RunnerConfig = z.infer<typeof RunnerConfig>;

/**
 * The pool a registration token joins. Workspace registration tokens are `srg_…`
 * (workers/auth/tokens.ts); anything else the control plane accepts is its shared token.
 */
export function poolOfToken(token: string): "shared" | "workspace" {
  return token.startsWith("srg_") ? "workspace" : "shared";
}

/** ~/.sparki-runner: the config and, by default, the jobs' work folders. */
export function defaultHome(): string {
  return join(homedir(), ".sparki-runner");
}

export function defaultConfigPath(): string {
  return join(defaultHome(), "config.json");
}

/**
 * Where jobs are checked out when nothing says: beside the config when that path is plain,
 * else (the default config lives in ~/.sparki-runner) a folder of this user's under /var/tmp
 * (node/paths.ts, scratchRoot: on disk, unlike a tmpfs /tmp), named after the config's folder so
 * two runners' defaults stay apart. Job folders are removed after each job.
 */
export function defaultWorkDir(configPath: string): string {
  const beside = join(dirname(resolve(configPath)), "work");
  if (dotSegment(beside) === null) return beside;
  const key = createHash("sha256")
    .update(dirname(resolve(configPath)))
    .digest("hex")
    .slice(0, 12);
  return join(scratchRoot(), `sparki-runner-${process.getuid?.() ?? "user"}-${key}`);
}

/** Reads and validates the config; a missing or broken file is the user's to fix. */
export async function readConfig(path: string): Promise<RunnerConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UserError(`no runner config at ${path}; run \`sparki-runner register\` first, or pass --config`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`${path} is not valid JSON; register the runner again to rewrite it`);
  }
  const parsed = RunnerConfig.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${path}: ${issue?.path.join(".") || "config"} ${issue?.message ?? "is invalid"}; register the runner again to rewrite it`);
  }
  return parsed.data;
}

/** Writes the config atomically (temp file + rename) with owner-only permissions. */
export async function writeConfig(path: string, config: RunnerConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, path);
}

/**
 * How long running jobs may finish after SIGTERM before they are handed back (`--grace-period`).
 * runner/sparki-runner.service's TimeoutStopSec is this plus room to hand back (a test checks).
 */
export const defaultGracePeriodSeconds = 600;

/** Where a setting of `sparki-runner run` came from (printed at start; never the token itself). */
export type SettingSource = "flag" | "env" | "file";

/** What `run` needs to reach the control plane, resolved from flags, environment and file. */
export interface RunSettings {
  url: string;
  runnerToken: string;
  /** Undefined when nothing says: counted as shared, the stricter pool (node/sandbox.ts). */
  pool: "shared" | "workspace" | undefined;
  /** The labels registered with, when the file says (the server matches on its own copy). */
  labels: string[] | undefined;
  sources: { url: SettingSource; token: SettingSource; pool: SettingSource | undefined };
  /** The config file read, or null when flags and environment said everything. */
  file: string | null;
}

/** The environment variables `run` reads; a container sets these instead of mounting a file. */
export const runEnv = {
  url: "SPARKI_URL",
  token: "SPARKI_RUNNER_TOKEN",
  pool: "SPARKI_RUNNER_POOL",
  /** Not a connection setting, but a container's: where jobs are checked out. */
  workDir: "SPARKI_RUNNER_WORK_DIR",
} as const;

const Url = z.url({ protocol: /^https?$/ });
const Pool = z.enum(["shared", "workspace"]);

/**
 * Resolves `run`'s settings: flags over environment over file, one setting at a time, so a
 * file written by `register` can have its URL overridden by `SPARKI_URL` (a control plane that
 * moved) and a container can run with `SPARKI_URL` and `SPARKI_RUNNER_TOKEN` and no file at all.
 * The file is read when it exists; it must exist when `--config` names it or when flags and
 * environment leave the URL or the token unsaid.
 */
export async function resolveRunSettings(opts: {
  flags: { url?: string | undefined; token?: string | undefined; pool?: string | undefined };
  env: NodeJS.ProcessEnv;
  configPath: string;
  /** `--config` was given: a missing file is an error even when nothing is needed from it. */
  configNamed: boolean;
}): Promise<RunSettings> {
  const { flags, env, configPath } = opts;
  const set = (v: string | undefined) => (v === undefined || v === "" ? undefined : v);
  const pick = (flag: string | undefined, name: string): [string, SettingSource] | undefined => {
    if (set(flag) !== undefined) return [flag as string, "flag"];
    if (set(env[name]) !== undefined) return [env[name] as string, "env"];
    return undefined;
  };
  const url = pick(flags.url, runEnv.url);
  const token = pick(flags.token, runEnv.token);
  const pool = pick(flags.pool, runEnv.pool);
  const exists = await access(configPath).then(
    () => true,
    () => false,
  );
  let file: RunnerConfig | null = null;
  if (exists || opts.configNamed || url === undefined || token === undefined) {
    if (!exists && !opts.configNamed) {
      throw new UserError(
        `no runner config at ${configPath}, and ${[url ? null : runEnv.url, token ? null : runEnv.token].filter(Boolean).join(" and ")} not set; run \`sparki-runner register\` first, pass --config, or set ${runEnv.url} and ${runEnv.token}`,
      );
    }
    file = await readConfig(configPath);
  }
  const where = (source: SettingSource, flag: string, name: string) => (source === "flag" ? flag : source === "env" ? name : configPath);
  const urlValue = url?.[0] ?? file?.url ?? "";
  const parsedUrl = Url.safeParse(urlValue);
  if (!parsedUrl.success) {
    throw new UserError(`${where(url?.[1] ?? "file", "--url", runEnv.url)}: ${JSON.stringify(urlValue)} is not an http(s) URL of the control plane`);
  }
  const tokenValue = token?.[0] ?? file?.runnerToken ?? "";
  // A registration token in the runner token's place would only get 401s: say so at once.
  if (tokenValue.startsWith("srg_")) {
    throw new UserError(
      `${where(token?.[1] ?? "file", "--token", runEnv.token)} holds a registration token (srg_…); trade it for a runner token with \`sparki-runner register\``,
    );
  }
  let poolValue: RunSettings["pool"] = file?.pool;
  if (pool) {
    const parsed = Pool.safeParse(pool[0]);
    if (!parsed.success) throw new UserError(`${where(pool[1], "--pool", runEnv.pool)} must be "shared" or "workspace" (got ${JSON.stringify(pool[0])})`);
    poolValue = parsed.data;
  }
  return {
    url: parsedUrl.data,
    runnerToken: tokenValue,
    pool: poolValue,
    labels: file?.labels,
    sources: { url: url?.[1] ?? "file", token: token?.[1] ?? "file", pool: pool?.[1] ?? (file?.pool ? "file" : undefined) },
    file: file ? configPath : null,
  };
}
