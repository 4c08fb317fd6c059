/**
 * The GitHub fake's app endpoints: GitHub's checks of an app JWT (RS256 against the app's public
 * key, iss the app id or client id, iat not in the future, exp in the future and at most 10 minutes
 * after now and after iat) and installation tokens (1 hour), narrowed by `repositories` (names
 * without the owner), `repository_ids` and `permissions` as documented: asking for a repository
 * outside the installation or a permission it lacks is a 422; `metadata: read` always comes along.
 */
import { createVerify, randomBytes } from "node:crypto";
import type { FakeGitHub, FakeRepo, Grant } from "./github.ts";
import { installationView, repoView, userView } from "./github-views.ts";

const DOCS = "https://docs.github.com/rest";
const LEVEL: Record<string, number> = { read: 1, write: 2, admin: 3 };
const token = (prefix: string): string => `${prefix}_${randomBytes(18).toString("base64url").replace(/[-_]/g, "x").slice(0, 36)}`;

/** GitHub's checks of an app JWT, with its messages: the app's grant, or the 401 message. */
export function verifyAppJwt(gh: FakeGitHub, jwt: string): Grant | string {
  const [h, p, s] = jwt.split(".") as [string, string, string];
  let header: { alg?: unknown };
  let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
  try {
    header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  } catch {
    return "A JSON web token could not be decoded";
  }
  if (header.alg !== "RS256") return "A JSON web token could not be decoded";
  const app = [...gh.apps.values()].find((a) => String(a.id) === String(claims.iss) || a.clientId === claims.iss);
  if (!app) return "'Issuer' claim ('iss') must be an Integer";
  const ok = createVerify("RSA-SHA256").update(`${h}.${p}`).verify(app.publicKey, Buffer.from(s, "base64url"));
  if (!ok) return "A JSON web token could not be decoded";
  const now = Math.floor(Date.now() / 1000);
  if (!Number.isInteger(claims.iat) || (claims.iat as number) > now + 60)
    return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.";
  if (!Number.isInteger(claims.exp) || (claims.exp as number) <= now)
    return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.";
  if ((claims.exp as number) - now > 600 || (claims.exp as number) - (claims.iat as number) > 600)
    return "'Expiration time' claim ('exp') is too far in the future.";
  return { kind: "app", appId: app.id };
}

/** `/app`, `/app/installations/{id}` and `/app/installations/{id}/access_tokens`, for an app JWT only. */
export function appApi(gh: FakeGitHub, method: string, path: string, body: unknown, grant: Grant | null, send: (s: number, p: unknown) => void): void {
  if (grant?.kind !== "app") return send(401, { message: "A JSON web token could not be decoded", documentation_url: DOCS, status: "401" });
  const app = gh.apps.get(grant.appId)!;
  if (path === "/app" && method === "GET") {
    return send(200, {
      id: app.id,
      slug: app.slug,
      node_id: `A_${app.id}`,
      client_id: app.clientId,
      owner: userView(gh.user(app.owner), gh.urls),
      name: app.name,
      description: "",
      external_url: "http://sparki.test",
      html_url: `${gh.webUrl}/apps/${app.slug}`,
      created_at: "2026-01-01T00:00:00Z",
      updated_at: "2026-01-01T00:00:00Z",
      permissions: app.permissions,
      events: app.events,
    });
  }
  // GET /app/installations/{id}: one installation of this app (a suspended one too).
  const one = /^\/app\/installations\/(\d+)$/.exec(path);
  if (one && method === "GET") {
    const inst = gh.installations.get(Number(one[1]));
    if (!inst || inst.appId !== app.id) return send(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
    return send(200, installationView(inst, gh.user(inst.account), app.slug, gh.urls));
  }
  const m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
  if (!m || method !== "POST") return send(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
  const inst = gh.installations.get(Number(m[1]));
  if (!inst || inst.appId !== app.id) return send(404, { message: "Not Found", documentation_url: DOCS, status: "404" });
  if (inst.suspended) return send(403, { message: "This installation has been suspended", documentation_url: DOCS, status: "403" });
  const b = (body ?? {}) as { repositories?: unknown; repository_ids?: unknown; permissions?: unknown };
  const invalid = (message: string): void => send(422, { message, documentation_url: DOCS, status: "422" });
  const names = b.repositories;
  const ids = b.repository_ids;
  if (names !== undefined && !(Array.isArray(names) && names.every((n) => typeof n === "string")))
    return invalid("Invalid request.\n\n`repositories` must be an array of strings.");
  if (ids !== undefined && !(Array.isArray(ids) && ids.every((n) => Number.isInteger(n))))
    return invalid("Invalid request.\n\n`repository_ids` must be an array of integers.");
  const reachable = gh.installationRepos(inst);
  let narrowed: FakeRepo[] | null = null;
  if (names !== undefined || ids !== undefined) {
    const want = [...((names as string[] | undefined) ?? []).map((n) => ({ name: n })), ...((ids as number[] | undefined) ?? []).map((id) => ({ id }))];
    narrowed = [];
    for (const w of want) {
      // Names are repository names without the owner, as documented.
      const r = reachable.find((x) => ("id" in w ? x.id === w.id : x.name === w.name));
      if (!r) return invalid("There is at least one repository that does not exist or is not accessible to the parent installation.");
      if (!narrowed.includes(r)) narrowed.push(r);
    }
  }
  let permissions = inst.permissions;
  if (b.permissions !== undefined) {
    if (typeof b.permissions !== "object" || b.permissions === null) return invalid("Invalid request.\n\n`permissions` must be an object.");
    const asked = b.permissions as Record<string, unknown>;
    for (const [k, v] of Object.entries(asked)) {
      if (typeof v !== "string" || !(v in LEVEL)) return invalid(`Invalid request.\n\n${k} is not a valid permission level.`);
      if ((LEVEL[inst.permissions[k] ?? ""] ?? 0) < (LEVEL[v] ?? 9)) return invalid("The permissions requested are not granted to this installation.");
    }
    // Metadata read comes with every installation token.
    permissions = { ...(asked as Record<string, string>), ...(inst.permissions.metadata ? { metadata: "read" } : {}) };
  }
  const t = token("ghs");
  const expiresAt = Date.now() + 3_600_000;
  gh.tokens.set(t, { kind: "installation", installationId: inst.id, repositoryIds: narrowed ? narrowed.map((r) => r.id) : null, permissions, expiresAt });
  return send(201, {
    token: t,
    expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
    permissions,
    repository_selection: narrowed ? "selected" : inst.repositorySelection,
    ...(narrowed ? { repositories: narrowed.map((r) => repoView(r, gh.user(r.owner), gh.urls)) } : {}),
  });
}
