/**
 * Authenticating as the GitHub App (`GITHUB_APP_ID`, `GITHUB_APP_PRIVATE_KEY`) and minting
 * installation tokens, in workerd with jose and WebCrypto.
 *
 * - {@link createAppJwt}: the RS256 JWT GitHub asks for (iat 60 s in the past against clock drift,
 *   exp 9 minutes ahead, inside GitHub's 10-minute maximum, iss the app id). It authenticates only
 *   `/app/...` endpoints.
 * - {@link mintInstallationToken}: an installation access token (1 hour), optionally narrowed to
 *   some repositories and permissions, as the endpoint documents. {@link mintCloneToken} is the one
 *   a job gets: one repository, `contents: read` and nothing else (GitHub adds `metadata: read`).
 *
 * The private key: GitHub hands out PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), which WebCrypto and
 * jose's importPKCS8 do not read. {@link toPkcs8} wraps the PKCS#1 key in a PKCS#8 envelope (a few
 * bytes of DER, no dependency), so the downloaded .pem can be pasted as it is; PKCS#8 is taken
 * too, and so are the literal "\n" escapes a one-line secret store leaves behind.
 *
 * Tokens are not cached here: the caller decides where a one-hour secret may live.
 */
import { importPKCS8, SignJWT } from "jose";
import { z } from "zod";
import { Installation } from "./api.ts";
import { type GitHubTransport, githubRequest } from "./http.ts";

/** The app's credentials as configured. */
export interface AppCredentials {
  appId: string;
  /** PEM, PKCS#1 or PKCS#8. */
  privateKey: string;
}

/** A permission level as GitHub names it. */
export type Permission = "read" | "write" | "admin";

/** What the access-token endpoint answers (the fields Sparki reads). */
export const InstallationToken = z.object({
  token: z.string().min(1),
  expires_at: z.string(),
  permissions: z.record(z.string(), z.string()),
  repository_selection: z.enum(["all", "selected"]),
  repositories: z.array(z.object({ id: z.number(), full_name: z.string() })).optional(),
});
export type InstallationToken = z.infer<typeof InstallationToken>;

/** RSAPrivateKey DER (PKCS#1) → PrivateKeyInfo DER (PKCS#8) with the rsaEncryption algorithm. */
export function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }, OCTET STRING { pkcs1 } }
  const version = [0x02, 0x01, 0x00];
  const algorithm = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
  const octets = [0x04, ...derLength(pkcs1.length)];
  const inner = version.length + algorithm.length + octets.length + pkcs1.length;
  const out = new Uint8Array([0x30, ...derLength(inner), ...version, ...algorithm, ...octets, ...pkcs1]);
  return out;
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return [0x80 | bytes.length, ...bytes];
}

/** Any accepted form of the key, as PKCS#8 PEM. Throws a plain Error naming what is wrong (never the key). */
export function toPkcs8(pem: string): string {
  const text = pem.replaceAll("\\n", "\n").trim();
  const m = /^-----BEGIN (RSA )?PRIVATE KEY-----([\s\S]+?)-----END \1?PRIVATE KEY-----$/.exec(text);
  if (!m?.[2]) throw new Error("GITHUB_APP_PRIVATE_KEY is not a PEM private key (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY)");
  const b64 = m[2].replace(/\s+/g, "");
  if (!m[1]) return `-----BEGIN PRIVATE KEY-----\n${wrap(b64)}\n-----END PRIVATE KEY-----`;
  let der: Uint8Array;
  try {
    der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    throw new Error("GITHUB_APP_PRIVATE_KEY is not valid base64 inside its PEM armour");
  }
  const pkcs8 = pkcs1ToPkcs8(der);
  let bin = "";
  for (const b of pkcs8) bin += String.fromCharCode(b);
  return `-----BEGIN PRIVATE KEY-----\n${wrap(btoa(bin))}\n-----END PRIVATE KEY-----`;
}

function wrap(b64: string): string {
  return b64.match(/.{1,64}/g)?.join("\n") ?? "";
}

// One imported key per isolate: importing costs more than signing.
let keyMemo: { pem: string; key: Promise<CryptoKey> } | null = null;

function signingKey(pem: string): Promise<CryptoKey> {
  if (keyMemo?.pem !== pem) {
    const key = importPKCS8(toPkcs8(pem), "RS256");
    keyMemo = { pem, key };
    key.catch(() => {
      if (keyMemo?.key === key) keyMemo = null;
    });
  }
  return keyMemo.key;
}

/** The app JWT (RS256), valid from 60 s ago for 9 minutes. `now` in seconds, for tests. */
export async function createAppJwt(app: AppCredentials, now = Math.floor(Date.now() / 1000)): Promise<string> {
  if (!/^\d+$/.test(app.appId)) throw new Error("GITHUB_APP_ID must be the app's numeric id");
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer(app.appId)
    .setIssuedAt(now - 60)
    .setExpirationTime(now + 9 * 60)
    .sign(await signingKey(app.privateKey));
}

/** What a token may be narrowed to (all optional: without them it is the installation's own reach). */
export interface TokenScope {
  /** Repository names without the owner, as the endpoint takes them. */
  repositories?: string[];
  repositoryIds?: number[];
  permissions?: Record<string, Permission>;
}

/** Mints an installation token; errors are GitHubApiError (404: no such installation, 422: asked for more than it has). */
export async function mintInstallationToken(
  app: AppCredentials,
  installationId: number,
  scope: TokenScope = {},
  transport: GitHubTransport = {},
): Promise<InstallationToken> {
  const json = {
    ...(scope.repositories ? { repositories: scope.repositories } : {}),
    ...(scope.repositoryIds ? { repository_ids: scope.repositoryIds } : {}),
    ...(scope.permissions ? { permissions: scope.permissions } : {}),
  };
  const { data } = await githubRequest(transport, {
    method: "POST",
    path: `/app/installations/${installationId}/access_tokens`,
    auth: `Bearer ${await createAppJwt(app)}`,
    json,
    answer: InstallationToken,
    // Minting twice leaves two tokens that both expire: no harm, so any transient failure is retried.
    idempotent: true,
  });
  return data;
}

/** The token one job clones with: that repository only, read-only contents. */
export function mintCloneToken(app: AppCredentials, installationId: number, repositoryId: number, transport: GitHubTransport = {}): Promise<InstallationToken> {
  return mintInstallationToken(app, installationId, { repositoryIds: [repositoryId], permissions: { contents: "read" } }, transport);
}

/** One installation of this app (`GET /app/installations/{id}`); a GitHubApiError 404 when it is not this app's. */
export async function getInstallation(app: AppCredentials, installationId: number, transport: GitHubTransport = {}): Promise<Installation> {
  const { data } = await githubRequest(transport, {
    method: "GET",
    path: `/app/installations/${installationId}`,
    auth: `Bearer ${await createAppJwt(app)}`,
    answer: Installation,
    idempotent: true,
  });
  return data;
}

/** The app itself (`GET /app`): proves the id and key belong together. */
export const App = z.object({ id: z.number(), slug: z.string(), name: z.string(), html_url: z.string() });
export type App = z.infer<typeof App>;

export async function getApp(app: AppCredentials, transport: GitHubTransport = {}): Promise<App> {
  const { data } = await githubRequest(transport, { method: "GET", path: "/app", auth: `Bearer ${await createAppJwt(app)}`, answer: App, idempotent: true });
  return data;
}
