/**
 * Attacks on the clone tokens a claim hands out (workers/services/clone-credentials.ts), against
 * the GitHub fake over HTTP and the real schema (PGlite in process):
 * - a job's token reaches its project's repository only (another private repository of the same
 *   installation is a 404), reads only (no check runs, no pushes of refs through the API);
 * - a project whose row names an installation linked to another workspace gets no token, nor
 *   does one whose repository the installation no longer reaches, nor one of a deleted installation.
 */
import { PGlite } from "@electric-sql/pglite";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsFolder } from "../../dev/migrate.ts";
import type { Db } from "../../server/db/client.js";
import * as schema from "../../server/db/schema.js";
import { GitHubClient } from "../../server/integrations/github/api.ts";
import { cloneCredentialFor } from "../../workers/services/clone-credentials.ts";
import { type FakeApp, FakeGitHub } from "../fakes/github.ts";

const gh = new FakeGitHub();
let pg: PGlite;
let db: Db;
let app: FakeApp;
let installationId: number;
const ids = { mine: "", foreign: "", dropped: "" };
const SHA = "b".repeat(40);
const config = () => ({ GITHUB_APP_ID: String(app.id), GITHUB_APP_PRIVATE_KEY: app.privateKey, GITHUB_API_URL: gh.apiUrl });

beforeAll(async () => {
  pg = new PGlite();
  const orm = drizzle(pg, { schema });
  await migrate(orm, { migrationsFolder });
  db = orm as unknown as Db;
  await gh.start();
  app = gh.addApp();
  const shop = gh.addRepo("acme/shop", { private: true, refs: { main: SHA } });
  const blog = gh.addRepo("acme/blog", { private: true, refs: { main: SHA } });
  installationId = gh.install(app, "acme").id;
  const [u] = await db.insert(schema.users).values({ email: "a@example.com", passwordHash: "x" }).returning();
  const [w1] = await db
    .insert(schema.workspaces)
    .values({ name: "acme", slug: "acme", ownerId: u?.id ?? null })
    .returning();
  const [w2] = await db
    .insert(schema.workspaces)
    .values({ name: "evil", slug: "evil", ownerId: u?.id ?? null })
    .returning();
  await db.insert(schema.githubInstallations).values({ id: installationId, accountLogin: "acme", accountType: "Organization", workspaceId: w1?.id ?? null });
  await db.insert(schema.githubInstallationRepositories).values({ installationId, repositoryId: shop.id, fullName: "acme/shop", private: true });
  const project = async (workspaceId: string, name: string, repositoryId: number, fullName: string) => {
    const [p] = await db
      .insert(schema.projects)
      .values({
        workspaceId,
        name,
        gitUrl: `https://github.com/${fullName}.git`,
        githubInstallationId: installationId,
        githubRepositoryId: repositoryId,
        githubFullName: fullName,
      })
      .returning();
    return p?.id ?? "";
  };
  ids.mine = await project(w1?.id ?? "", "shop", shop.id, "acme/shop");
  // Another workspace's project pointing at acme's installation (a forged or stale row).
  ids.foreign = await project(w2?.id ?? "", "shop", shop.id, "acme/shop");
  // A repository the installation does not (or no longer) list.
  ids.dropped = await project(w1?.id ?? "", "blog", blog.id, "acme/blog");
}, 60_000);

afterAll(async () => {
  await gh.close();
  await pg.close();
});

describe("clone tokens", () => {
  it("reach the job's own repository, read-only, and nothing else", async () => {
    const cred = await cloneCredentialFor(config(), db, ids.mine);
    expect(cred?.username).toBe("x-access-token");
    const mint = gh.requests.filter((r) => r.path.endsWith("/access_tokens")).at(-1);
    expect(mint?.body).toEqual({ repository_ids: [gh.repo("acme/shop").id], permissions: { contents: "read" } });
    const client = new GitHubClient(cred?.password ?? "", { apiUrl: gh.apiUrl });
    expect((await client.getRepository("acme", "shop")).full_name).toBe("acme/shop");
    await expect(client.getRepository("acme", "blog")).rejects.toMatchObject({ status: 404 });
    await expect(client.createCheckRun("acme", "shop", { name: "forged", head_sha: SHA })).rejects.toMatchObject({ status: 403 });
  });

  it("two jobs get two different tokens (minted per job, never shared)", async () => {
    const a = await cloneCredentialFor(config(), db, ids.mine);
    const b = await cloneCredentialFor(config(), db, ids.mine);
    expect(a?.password).not.toBe(b?.password);
  });

  it("are not minted for another workspace's project naming this installation", async () => {
    const before = gh.requests.length;
    expect(await cloneCredentialFor(config(), db, ids.foreign)).toBeNull();
    expect(gh.requests.length).toBe(before);
  });

  it("are not minted for a repository the installation no longer reaches, nor after the installation is deleted", async () => {
    expect(await cloneCredentialFor(config(), db, ids.dropped)).toBeNull();
    await db.update(schema.githubInstallations).set({ deletedAt: new Date() }).where(eq(schema.githubInstallations.id, installationId));
    expect(await cloneCredentialFor(config(), db, ids.mine)).toBeNull();
    await db.update(schema.githubInstallations).set({ deletedAt: null }).where(eq(schema.githubInstallations.id, installationId));
  });

  it("a GitHub outage is a retryable 503, never a job handed out with a missing token silently", async () => {
    gh.failNext(503, { on: "POST /app/installations", times: 10 });
    await expect(cloneCredentialFor(config(), db, ids.mine, { sleep: async () => undefined })).rejects.toMatchObject({
      code: "upstream_unavailable",
      status: 503,
    });
  });
});
