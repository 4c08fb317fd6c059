import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { UserError } from "../node/user-error.ts";

export const DEFAULT_URL = "http://127.0.0.1:8787";

/** What `sparki login` saves: the server, a long-lived API token and the current workspace. */
export const SavedConfig = z.object({
  url: z.string().optional(),
  token: z.string().optional(),
  /** The API token's id, so `sparki logout` can revoke it. */
  tokenId: z.string().optional(),
  workspaceId: z.string().optional(),
});
export type SavedConfig = z.infer<typeof SavedConfig>;

/** `$XDG_CONFIG_HOME/sparki/config.json`, `~/.config/sparki/config.json` by default. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.startsWith("/") ? env.XDG_CONFIG_HOME : join(homedir(), ".config");
  return join(base, "sparki", "config.json");
}

export async function loadConfig(path = configPath()): Promise<SavedConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return SavedConfig.parse(JSON.parse(text));
  } catch {
    throw new UserError(`${path} is not a valid sparki config; run 'sparki login' again or delete it`);
  }
}

/** Writes the config with mode 0600 in a 0700 folder: it holds a token. */
export async function saveConfig(config: SavedConfig, path = configPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await chmod(dirname(path), 0o700);
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file.
  await chmod(path, 0o600);
}

export async function removeConfig(path = configPath()): Promise<void> {
  await rm(path, { force: true });
}

/** Global flags every API command accepts. */
export interface GlobalFlags {
  url?: string;
  workspace?: string;
  json?: boolean;
}

/** The server, token and workspace a command uses, from flags, environment and the saved config. */
export interface Resolved {
  url: string;
  token: string | undefined;
  workspaceId: string | undefined;
  saved: SavedConfig;
}

export async function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Promise<Resolved> {
  const saved = await loadConfig(configPath(env));
  const url = (flags.url ?? env.SPARKI_URL ?? saved.url ?? DEFAULT_URL).replace(/\/+$/, "");
  if (!/^https?:\/\//.test(url)) throw new UserError(`the server URL must start with http:// or https:// (got ${url})`, 2);
  return { url, token: env.SPARKI_TOKEN || saved.token, workspaceId: flags.workspace ?? env.SPARKI_WORKSPACE ?? saved.workspaceId, saved };
}
