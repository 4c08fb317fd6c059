/**
 * The app JWT and installation tokens against the GitHub fake over real HTTP: the PEM forms GitHub
 * and secret stores produce, narrowing as documented, and GitHub's refusals.
 */
import { createPrivateKey } from "node:crypto";
import { SignJWT, importPKCS8 } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGitHub } from "../../../test/fakes/github.ts";
import { createAppJwt, getApp, mintCloneToken, mintInstallationToken, toPkcs8 } from "./app-auth.ts";
import { GitHubClient } from "./api.ts";
import { GitHubApiError } from "./http.ts";

const gh = new FakeGitHub();
let app: ReturnType<FakeGitHub["addApp"]>;
let inst: ReturnType<FakeGitHub["install"]>;
const t = () => ({ apiUrl: gh.apiUrl });
const creds = () => ({ appId: String(app.id), privateKey: app.privateKey });

beforeAll(async () => {
  await gh.start();
  app = gh.addApp({ slug: "sparki-test" });
  gh.addRepo("acme/shop", { private: true });
  gh.addRepo("acme/blog", { private: true });
  gh.addRepo("acme/site");
  gh.addRepo("other/secret", { private: true });
  inst = gh.install(app, "acme");
});
afterAll(() => gh.close());

async function rejection(p: Promise<unknown>): Promise<GitHubApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GitHubApiError);
  return err as GitHubApiError;
}

describe("the app JWT", () => {
  it("signs with GitHub's PKCS#1 key as downloaded, and GET /app accepts it", async () => {
    expect(app.privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    const me = await getApp(creds(), t());
    expect(me).toMatchObject({ id: app.id, slug: "sparki-test" });
    const last = gh.requests.at(-1);
    expect(last?.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it("takes PKCS#8 and a one-line secret with literal \\n escapes", async () => {
    const pkcs8 = createPrivateKey(app.privateKey).export({ type: "pkcs8", format: "pem" }).toString();
    await expect(getApp({ appId: String(app.id), privateKey: pkcs8 }, t())).resolves.toMatchObject({ id: app.id });
    const oneLine = app.privateKey.trim().replaceAll("\n", "\\n");
    await expect(getApp({ appId: String(app.id), privateKey: oneLine }, t())).resolves.toMatchObject({ id: app.id });
    // The wrapped key is the same key: node reads both to the same PKCS#8.
    expect(createPrivateKey(toPkcs8(app.privateKey)).export({ type: "pkcs8", format: "pem" })).toBe(pkcs8);
  });

  it("claims iss = app id, iat 60 s back, exp 9 minutes ahead", async () => {
    const now = 1_800_000_000;
    const jwt = await createAppJwt(creds(), now);
    const [h, p] = jwt.split(".") as [string, string];
    expect(JSON.parse(Buffer.from(h, "base64url").toString())).toEqual({ alg: "RS256", typ: "JWT" });
    expect(JSON.parse(Buffer.from(p, "base64url").toString())).toEqual({ iss: String(app.id), iat: now - 60, exp: now + 540 });
  });

  it("is refused when signed by another key, too long-lived, expired, or not RS256", async () => {
    const other = gh.addApp();
    const forged = await rejection(getApp({ appId: String(app.id), privateKey: other.privateKey }, t()));
    expect(forged.status).toBe(401);
    const key = await importPKCS8(toPkcs8(app.privateKey), "RS256");
    const now = Math.floor(Date.now() / 1000);
    const sign = (iat: number, exp: number) =>
      new SignJWT({}).setProtectedHeader({ alg: "RS256" }).setIssuer(String(app.id)).setIssuedAt(iat).setExpirationTime(exp).sign(key);
    const call = async (jwt: string) => fetch(`${gh.apiUrl}/app`, { headers: { authorization: `Bearer ${jwt}`, "user-agent": "test" } });
    const long = await call(await sign(now, now + 20 * 60));
    expect(long.status).toBe(401);
    expect(((await long.json()) as { message: string }).message).toMatch(/too far in the future/);
    expect((await call(await sign(now - 700, now - 60))).status).toBe(401);
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(String(app.id))
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new Uint8Array(32));
    expect((await call(hs)).status).toBe(401);
  });

  it("refuses a key that is not a PEM, without echoing it", async () => {
    await expect(createAppJwt({ appId: String(app.id), privateKey: "not-a-key-secret-material" })).rejects.toThrow(/not a PEM private key/);
    await expect(createAppJwt({ appId: String(app.id), privateKey: "not-a-key-secret-material" })).rejects.not.toThrow(/secret-material/);
    await expect(createAppJwt({ appId: "Iv1.abc", privateKey: app.privateKey })).rejects.toThrow(/numeric/);
  });
});

describe("installation tokens", () => {
  it("mints one that reaches the installation's repositories with its permissions", async () => {
    const tok = await mintInstallationToken(creds(), inst.id, {}, t());
    expect(tok.token).toMatch(/^ghs_/);
    expect(Date.parse(tok.expires_at) - Date.now()).toBeGreaterThan(55 * 60_000);
    expect(tok.repository_selection).toBe("all");
    expect(tok.permissions).toMatchObject({ checks: "write", contents: "read" });
    const repos = await new GitHubClient(tok.token, t()).listInstallationRepositories();
    expect(repos.map((r) => r.full_name).sort()).toEqual(["acme/blog", "acme/shop", "acme/site"]);
  });

  it("a clone token reaches one repository, read-only", async () => {
    const shop = gh.repo("acme/shop");
    const tok = await mintCloneToken(creds(), inst.id, shop.id, t());
    expect(tok.repository_selection).toBe("selected");
    expect(tok.permissions).toEqual({ contents: "read", metadata: "read" });
    expect(tok.repositories?.map((r) => r.full_name)).toEqual(["acme/shop"]);
    expect(gh.requests.at(-1)?.body).toEqual({ repository_ids: [shop.id], permissions: { contents: "read" } });
    const client = new GitHubClient(tok.token, t());
    await expect(client.getRepository("acme", "shop")).resolves.toMatchObject({ id: shop.id, private: true });
    // The installation's other private repository is invisible to it, as if it did not exist.
    expect((await rejection(client.getRepository("acme", "blog"))).status).toBe(404);
    // And it cannot write a check run even where it reaches.
    const denied = await rejection(client.createCheckRun("acme", "shop", { name: "sparki", head_sha: "a".repeat(40) }));
    expect(denied.status).toBe(403);
  });

  it("narrows by repository name too", async () => {
    const tok = await mintInstallationToken(creds(), inst.id, { repositories: ["blog"] }, t());
    expect(tok.repositories?.map((r) => r.full_name)).toEqual(["acme/blog"]);
  });

  it("refuses a repository outside the installation and permissions it lacks (422), an unknown installation (404)", async () => {
    const outside = await rejection(mintInstallationToken(creds(), inst.id, { repositoryIds: [gh.repo("other/secret").id] }, t()));
    expect(outside.status).toBe(422);
    expect(outside.message).toMatch(/not accessible to the parent installation/);
    const more = await rejection(mintInstallationToken(creds(), inst.id, { permissions: { administration: "write" } }, t()));
    expect(more.status).toBe(422);
    expect((await rejection(mintInstallationToken(creds(), 987_654, {}, t()))).status).toBe(404);
    // Nothing here is worth retrying: one request each.
    expect(outside.retryable || more.retryable).toBe(false);
  });

  it("refuses a suspended installation (403) and an expired token (401)", async () => {
    const suspended = gh.install(app, "acme");
    suspended.suspended = true;
    expect((await rejection(mintInstallationToken(creds(), suspended.id, {}, t()))).status).toBe(403);
    const old = gh.mintToken(inst, { ttlMs: -1 });
    expect((await rejection(new GitHubClient(old, t()).getRepository("acme", "shop"))).status).toBe(401);
  });
});
