/**
 * A project's secrets under SECRETS_KEY: sealed when the API stores one, decrypted for a job's
 * runner (workers/routes/runner.ts) and for a deployment's platform credentials (the deployment
 * orchestrator). One behaviour for every reader: a project without secrets needs no key; secrets
 * without SECRETS_KEY are the operator's misconfiguration and fail loudly, never as an empty set
 * that would surface later as a missing credential or an unset variable far from its cause.
 */
import { and, eq, inArray } from "drizzle-orm";
import { SparkiError } from "../../core/errors.js";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { secrets } from "../db/schema.js";
import { decryptSecret, encryptSecret } from "./crypto.js";

/** Secrets exist but no SECRETS_KEY is set to read them. */
export function missingSecretsKey(): SparkiError {
  return new SparkiError("internal", {
    detail: "The project has secrets but this instance has no SECRETS_KEY to read them; the operator must set the key they were stored with.",
  });
}

/**
 * The project's secrets as name → value, or only those named in `names` (a secret not stored is
 * left out). Throws {@link missingSecretsKey} when a secret is found and SECRETS_KEY is unset,
 * and the decryption error when a value was stored under another key.
 */
export async function projectSecrets(
  config: Pick<Config, "SECRETS_KEY">,
  db: Db,
  projectId: string,
  names?: readonly string[],
): Promise<Record<string, string>> {
  if (names?.length === 0) return {};
  const rows = await db
    .select({ name: secrets.name, ciphertext: secrets.ciphertext })
    .from(secrets)
    .where(and(eq(secrets.projectId, projectId), names ? inArray(secrets.name, [...names]) : undefined));
  if (rows.length === 0) return {};
  const key = config.SECRETS_KEY;
  if (!key) throw missingSecretsKey();
  // fromEntries defines own properties, so no name can reach the prototype.
  return Object.fromEntries(await Promise.all(rows.map(async (r) => [r.name, await decryptSecret(key, projectId, r.name, r.ciphertext)] as const)));
}

/** `value` sealed for storage as the project's secret `name`; refuses when SECRETS_KEY is unset. */
export async function sealProjectSecret(config: Pick<Config, "SECRETS_KEY">, projectId: string, name: string, value: string): Promise<string> {
  const key = config.SECRETS_KEY;
  if (!key) throw new SparkiError("internal", { detail: "This instance has no SECRETS_KEY, so it cannot store secrets; the operator must set one." });
  return encryptSecret(key, projectId, name, value);
}
