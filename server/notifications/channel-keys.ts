/**
 * A channel's URL and a webhook's signing key, sealed under SECRETS_KEY like a project secret
 * and bound to the project, the channel and the use: a Slack incoming-webhook URL is itself the
 * credential that posts to the channel, and a receiver checks our HMAC with the key itself.
 */
import type { Config } from "../config.js";
import { decryptSecret } from "../secrets/crypto.js";
import { sealProjectSecret } from "../secrets/project-secrets.js";

// Not valid secret names (core/contracts/runner.ts EnvName), so no project secret shares their binding.
const urlName = (channelId: string) => `:notify-url:${channelId}`;
const keyName = (channelId: string) => `:notify-key:${channelId}`;

type Keyed = Pick<Config, "SECRETS_KEY">;

/** A fresh signing key: `snk_` and 32 random bytes as base64url. */
export function newSigningKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `snk_${btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;
}

/** What may be shown of a channel URL: its scheme and host (the path and query may be the credential). */
export function urlHint(url: string): string {
  return new URL(url).origin;
}

export function sealChannelUrl(config: Keyed, projectId: string, channelId: string, url: string): Promise<string> {
  return sealProjectSecret(config, projectId, urlName(channelId), url);
}

export function sealSigningKey(config: Keyed, projectId: string, channelId: string, key: string): Promise<string> {
  return sealProjectSecret(config, projectId, keyName(channelId), key);
}

async function open(config: Keyed, projectId: string, name: string, sealed: string): Promise<string | null> {
  if (!config.SECRETS_KEY) return null;
  try {
    return await decryptSecret(config.SECRETS_KEY, projectId, name, sealed);
  } catch {
    return null;
  }
}

/** The URL, or null when it cannot be opened (no SECRETS_KEY, or sealed under another key). */
export function openChannelUrl(config: Keyed, projectId: string, channelId: string, sealed: string): Promise<string | null> {
  return open(config, projectId, urlName(channelId), sealed);
}

export function openSigningKey(config: Keyed, projectId: string, channelId: string, sealed: string): Promise<string | null> {
  return open(config, projectId, keyName(channelId), sealed);
}
