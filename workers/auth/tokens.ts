/** Opaque secrets (refresh and API tokens): random, prefixed by kind, stored only as SHA-256. */
export const tokenPrefix = { refresh: "srt_", api: "spk_", runner: "srn_", runnerRegistration: "srg_" } as const;

/** A new random token of the given kind: prefix + 32 random bytes in base64url. */
export function newToken(kind: keyof typeof tokenPrefix): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return tokenPrefix[kind] + base64url(bytes);
}

/** Hex SHA-256 of a token: what the database keeps. */
export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
