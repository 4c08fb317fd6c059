/**
 * Installation tokens for the API calls Sparki makes on a repository (check runs, deployments),
 * kept in the isolate's memory until 10 minutes before they expire (GitHub gives an hour). One
 * token per installation, repository and permission set: each is narrowed to the one repository
 * and the one permission its caller needs, so a leaked token reaches nothing else.
 *
 * Memory only, never Upstash: a token is a secret, and minting one is a single call. A clone
 * token (app-auth.ts#mintCloneToken) is never cached: each job gets its own.
 */
import { type AppCredentials, mintInstallationToken, type Permission } from "./app-auth.ts";
import type { GitHubTransport } from "./http.ts";

/** Tokens are used until this long before GitHub's expiry, so a call never carries a dying one. */
const MARGIN_MS = 10 * 60_000;
/** A bound on the memo, so a long-lived isolate serving many repositories does not grow without end. */
const MAX_ENTRIES = 500;

interface Entry {
  token: Promise<string>;
  usableUntil: number;
}

const memo = new Map<string, Entry>();

/** A token for `repositoryId` of `installationId` holding `permissions`, minted or from memory. */
export function repositoryToken(
  app: AppCredentials,
  installationId: number,
  repositoryId: number,
  permissions: Record<string, Permission>,
  transport: GitHubTransport = {},
  now = Date.now(),
): Promise<string> {
  const key = `${transport.apiUrl ?? ""}|${app.appId}|${installationId}|${repositoryId}|${JSON.stringify(Object.entries(permissions).sort())}`;
  const hit = memo.get(key);
  if (hit && hit.usableUntil > now) return hit.token;
  if (memo.size >= MAX_ENTRIES) for (const [k, e] of memo) if (e.usableUntil <= now || memo.size >= MAX_ENTRIES) memo.delete(k);
  const entry: Entry = { token: Promise.resolve(""), usableUntil: now + 60_000 };
  entry.token = mintInstallationToken(app, installationId, { repositoryIds: [repositoryId], permissions }, transport).then(
    (t) => {
      entry.usableUntil = Date.parse(t.expires_at) - MARGIN_MS;
      return t.token;
    },
    (err: unknown) => {
      // A failed mint is not remembered: the next call asks again.
      if (memo.get(key) === entry) memo.delete(key);
      throw err;
    },
  );
  memo.set(key, entry);
  return entry.token;
}

/** Forgets every token (tests; and a 401 from GitHub, when a token was revoked early). */
export function forgetRepositoryTokens(): void {
  memo.clear();
}
