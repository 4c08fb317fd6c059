/**
 * A project's push-hook key: made here, shown once, stored sealed under SECRETS_KEY like a
 * project secret (an HMAC is checked with the key itself, so a hash would not do). The sealed
 * value is bound to its project and to this use: it opens as nothing else.
 */
import type { Config } from "../config.js";
import { sealProjectSecret } from "../secrets/project-secrets.js";
import { decryptSecret } from "../secrets/crypto.js";

// Not a valid secret name (core/contracts/runner.ts EnvName), so no project secret shares its binding.
const sealName = ":push-hook";

/** A fresh key: `sph_` and 32 random bytes as base64url (safe in a shell, a file and a header). */
export function newPushHookKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `sph_${btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;
}

export function sealPushHookKey(config: Pick<Config, "SECRETS_KEY">, projectId: string, key: string): Promise<string> {
  return sealProjectSecret(config, projectId, sealName, key);
}

/** The key, or null when it cannot be opened (no SECRETS_KEY, or sealed under another key). */
export async function openPushHookKey(config: Pick<Config, "SECRETS_KEY">, projectId: string, sealed: string): Promise<string | null> {
  if (!config.SECRETS_KEY) return null;
  try {
    return await decryptSecret(config.SECRETS_KEY, projectId, sealName, sealed);
  } catch {
    return null;
  }
}
