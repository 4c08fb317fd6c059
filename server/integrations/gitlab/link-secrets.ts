/**
 * The two secrets of a project's GitLab link, sealed under SECRETS_KEY like a project secret
 * (server/secrets/crypto.ts): the webhook's secret token (GitLab sends it in clear, so Sparki
 * must hold the token itself to compare) and the project access token. Each is bound to its
 * project and to its use, so neither opens as the other, as a project secret or as a push-hook key.
 */
import type { Config } from "../../config.js";
import { decryptSecret } from "../../secrets/crypto.js";
import { sealProjectSecret } from "../../secrets/project-secrets.js";

// Not valid secret names (core/contracts/runner.ts EnvName), so no project secret shares a binding.
const names = { hook: ":gitlab-hook-token", access: ":gitlab-access-token" } as const;
export type GitLabSecret = keyof typeof names;

export function sealGitLabSecret(config: Pick<Config, "SECRETS_KEY">, projectId: string, which: GitLabSecret, value: string): Promise<string> {
  return sealProjectSecret(config, projectId, names[which], value);
}

/** The value, or null when it cannot be opened (no SECRETS_KEY, another key, another project). */
export async function openGitLabSecret(config: Pick<Config, "SECRETS_KEY">, projectId: string, which: GitLabSecret, sealed: string): Promise<string | null> {
  if (!config.SECRETS_KEY) return null;
  try {
    return await decryptSecret(config.SECRETS_KEY, projectId, names[which], sealed);
  } catch {
    return null;
  }
}
