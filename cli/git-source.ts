import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { checkGitUrl } from "../core/git-url.ts";

/**
 * What a user types for a project's repository, as the API wants it: git URLs (https, ssh,
 * user@host:path, file://, absolute paths) pass unchanged; `.`, `./x`, `../x`, `~/x` and any
 * relative path that exists become absolute paths (a repository on this machine, which a local
 * stack's runner can clone). Anything else is left for the server to explain.
 */
export function gitUrlFromInput(input: string, cwd = process.cwd(), home = homedir()): string {
  const value = input.trim();
  if (value === "~" || value.startsWith("~/")) return join(home, value.slice(1));
  if (value === "." || value === ".." || value.startsWith("./") || value.startsWith("../")) return resolve(cwd, value);
  if (checkGitUrl(value).ok) return value;
  if (value && existsSync(resolve(cwd, value))) return resolve(cwd, value);
  return value;
}
