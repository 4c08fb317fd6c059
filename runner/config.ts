/**
 * The runner's config file: where the control plane is and the runner token that
 * `sparki-runner register` obtained. Written 0600 because the token is a credential.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { RunnerLabels, RunnerName } from "../core/contracts/runner.ts";
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
   * steps unsandboxed (runner/sandbox.ts). Absent in configs written before it was recorded.
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
