/**
 * The GitHub reporters against the GitHub fake over real HTTP, with the real schema (PGlite in
 * process, every migration applied): a build's check run goes queued → in_progress → completed
 * with the build's link and the failed step's last lines; a redelivered event updates the same
 * check run (never a second one, never backwards); GitHub answering 5xx fails nothing and a later
 * event catches up; a deployment's stages become GitHub deployments with their statuses.
 */
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { migrationsFolder } from "../../dev/migrate.ts";
import { type FakeApp, FakeGitHub, type FakeRepo } from "../../test/fakes/github.ts";
import type { Db } from "../db/client.js";
import * as schema from "../db/schema.js";
import { forgetRepositoryTokens } from "../integrations/github/token-cache.ts";
import { GitHubApiError } from "../integrations/github/http.ts";
import { type GitHubReportDeps, reportGitHubCheck } from "./report-github-check.js";
import { reportGitHubDeployments } from "./report-github-deployments.js";

const gh = new FakeGitHub();
let pg: PGlite;
let db: Db;
let app: FakeApp;
let shop: FakeRepo;
let installationId: number;
let projectId: string;
const SHA = "a".repeat(40);
const noSleep = async () => undefined;

const deps = (extra: Partial<GitHubReportDeps> = {}): GitHubReportDeps => ({
  db,
  app: { appId: String(app.id), privateKey: app.privateKey },
  transport: { apiUrl: gh.apiUrl, sleep: noSleep },
  publicUrl: "https://sparki.example.com",
  ...extra,
});
const runs = () => [...gh.repoApi.checkRuns.values()];

beforeAll(async () => {
  pg = new PGlite();
  const orm = drizzle(pg, { schema });
  await migrate(orm, { migrationsFolder });
  db = orm as unknown as Db;
  await gh.start();
  app = gh.addApp();
  shop = gh.addRepo("acme/shop", { private: true, refs: { main: SHA } });
  installationId = gh.install(app, "acme").id;
  const [user] = await db.insert(schema.users).values({ email: "o@example.com", passwordHash: "x", name: "o" }).returning();
  const [ws] = await db
    .insert(schema.workspaces)
    .values({ name: "acme", slug: "acme", ownerId: user?.id ?? "" })
    .returning();
  await db.insert(schema.githubInstallations).values({ id: installationId, accountLogin: "acme", accountType: "Organization", workspaceId: ws?.id ?? null });
  const [p] = await db
    .insert(schema.projects)
    .values({
      workspaceId: ws?.id ?? "",
      name: "shop",
      gitUrl: "https://github.com/acme/shop.git",
      githubInstallationId: installationId,
      githubRepositoryId: shop.id,
      githubFullName: "acme/shop",
    })
    .returning();
  projectId = p?.id ?? "";
}, 60_000);

afterAll(async () => {
  await gh.close();
  await pg.close();
});

beforeEach(() => forgetRepositoryTokens());

async function newBuild(status = "queued"): Promise<string> {
  const [b] = await db
    .insert(schema.builds)
    .values({ projectId, number: 1 + Math.floor(Math.random() * 1e6), branch: "main", commitSha: SHA, status, trigger: "push" })
    .returning();
  return b?.id ?? "";
}
const setStatus = (id: string, status: string, error: string | null = null) => db.update(schema.builds).set({ status, error }).where(eq(schema.builds.id, id));

describe("check runs", () => {
  it("follows the build queued → in_progress → completed, linking to the build page, with the failed step's last lines", async () => {
    const id = await newBuild();
    const before = runs().length;
    const failureOf = async () => ({ job: "test", step: "unit tests", exitCode: 2, lines: ["ok 1", "not ok 2 - adds ```numbers```"] });
    expect(await reportGitHubCheck(deps({ failureOf }), id)).toMatchObject({ phase: "queued", created: true });
    const [run] = runs().slice(before);
    expect(run).toMatchObject({ name: "sparki", head_sha: SHA, status: "queued", external_id: id, details_url: `https://sparki.example.com/builds/${id}` });

    await setStatus(id, "running");
    expect(await reportGitHubCheck(deps({ failureOf }), id)).toMatchObject({ phase: "in_progress", created: false });
    expect(gh.repoApi.checkRuns.get(run?.id ?? 0)?.status).toBe("in_progress");

    await setStatus(id, "failed", "Job test ended failed with exit code 2.");
    expect(await reportGitHubCheck(deps({ failureOf }), id)).toMatchObject({ phase: "completed" });
    const done = gh.repoApi.checkRuns.get(run?.id ?? 0);
    expect(done).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(done?.output.title).toContain("unit tests");
    expect(done?.output.summary).toContain("**step unit tests of job test** failed with exit code 2.");
    expect(done?.output.summary).toContain("````text\nok 1\nnot ok 2 - adds ```numbers```\n````");
    expect(runs().length).toBe(before + 1);
  });

  it("updates the same check run on a redelivered event, and never moves it backwards", async () => {
    const id = await newBuild("running");
    const before = runs().length;
    await reportGitHubCheck(deps(), id);
    await reportGitHubCheck(deps(), id); // build.started delivered twice
    expect(runs().length).toBe(before + 1);
    await setStatus(id, "succeeded");
    await reportGitHubCheck(deps(), id);
    const patches = () => gh.requests.filter((r) => r.method === "PATCH" && r.path.includes("/check-runs/")).length;
    const n = patches();
    // A late build.requested and a redelivered build.completed: nothing more to say.
    expect(await reportGitHubCheck(deps(), id)).toEqual({ skipped: "already completed" });
    expect(patches()).toBe(n);
    const [run] = runs().slice(before);
    expect(run).toMatchObject({ status: "completed", conclusion: "success" });
    expect(runs().length).toBe(before + 1);
  });

  it("cancelled builds complete as cancelled with their reason", async () => {
    const id = await newBuild("cancelled");
    await setStatus(id, "cancelled", "superseded by build #9");
    const result = await reportGitHubCheck(deps(), id);
    const run = gh.repoApi.checkRuns.get("checkRunId" in result ? result.checkRunId : 0);
    expect(run).toMatchObject({ conclusion: "cancelled", output: { summary: "superseded by build #9" } });
  });

  it("a GitHub 5xx throws a retryable error, stores nothing half-done, and the next event creates the one check run", async () => {
    const id = await newBuild();
    const before = runs().length;
    gh.failNext(502, { on: "POST /app/installations", times: 10 });
    const err = await reportGitHubCheck(deps(), id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect((err as GitHubApiError).retryable).toBe(true);
    gh.failNext(500, { on: "POST /repos/acme/shop/check-runs" });
    await expect(reportGitHubCheck(deps(), id)).rejects.toBeInstanceOf(GitHubApiError);
    expect(await db.select().from(schema.githubCheckRuns).where(eq(schema.githubCheckRuns.buildId, id))).toEqual([]);
    expect(runs().length).toBe(before);
    await setStatus(id, "running");
    expect(await reportGitHubCheck(deps(), id)).toMatchObject({ phase: "in_progress", created: true });
    expect(runs().length).toBe(before + 1);
  });

  it("a second reporter while the first is creating the check run backs off instead of creating another", async () => {
    const id = await newBuild();
    await db.insert(schema.githubCheckRuns).values({ buildId: id });
    expect(await reportGitHubCheck(deps(), id)).toEqual({ busy: true });
  });

  it("skips builds of projects that are not linked, and builds without a commit", async () => {
    const [other] = await db
      .insert(schema.projects)
      .values({ workspaceId: (await db.select().from(schema.workspaces))[0]?.id ?? "", name: `plain-${Date.now()}`, gitUrl: "https://example.com/x.git" })
      .returning();
    const [b] = await db
      .insert(schema.builds)
      .values({ projectId: other?.id ?? "", number: 1, branch: "main", commitSha: SHA, status: "queued" })
      .returning();
    expect(await reportGitHubCheck(deps(), b?.id ?? "")).toEqual({ skipped: "project not linked to GitHub" });
    const [c] = await db.insert(schema.builds).values({ projectId, number: 424242, branch: "main", commitSha: null, status: "queued" }).returning();
    expect(await reportGitHubCheck(deps(), c?.id ?? "")).toEqual({ skipped: "commit not known yet" });
  });
});

describe("deployment statuses", () => {
  it("makes one GitHub deployment per reached stage and sends its statuses with the stage's URL", async () => {
    const buildId = await newBuild("succeeded");
    const [release] = await db.insert(schema.releases).values({ projectId, buildId, status: "deploying", trigger: "push" }).returning();
    const releaseId = release?.id ?? "";
    const [staging] = await db
      .insert(schema.deployments)
      .values({ buildId, releaseId, projectId, position: 0, stage: "staging", status: "deploying" })
      .returning();
    await db.insert(schema.deployments).values({ buildId, releaseId, projectId, position: 1, stage: "production", status: "waiting" });
    const first = await reportGitHubDeployments(deps(), releaseId);
    expect(first).toEqual([
      { stage: "staging", state: "in_progress", githubDeploymentId: expect.any(Number) },
      { stage: "production", skipped: "nothing to report" },
    ]);
    const dep = gh.repoApi.deployments.get((first[0] as { githubDeploymentId: number }).githubDeploymentId);
    expect(dep).toMatchObject({ environment: "staging", sha: SHA });

    await db
      .update(schema.deployments)
      .set({ status: "healthy", url: "https://staging--shop.sites.example" })
      .where(eq(schema.deployments.id, staging?.id ?? ""));
    await reportGitHubDeployments(deps(), releaseId);
    await reportGitHubDeployments(deps(), releaseId); // redelivered
    expect(dep?.statuses.map((s) => s.state)).toEqual(["in_progress", "success"]);
    expect(dep?.statuses.at(-1)).toMatchObject({
      environment_url: "https://staging--shop.sites.example",
      log_url: `https://sparki.example.com/deployments/${releaseId}`,
    });

    // A hand rollback takes the healthy stage down: its deployment is no longer active.
    await db
      .update(schema.deployments)
      .set({ status: "rolled_back" })
      .where(eq(schema.deployments.id, staging?.id ?? ""));
    await reportGitHubDeployments(deps(), releaseId);
    expect(dep?.statuses.map((s) => s.state)).toEqual(["in_progress", "success", "inactive"]);
    expect([...gh.repoApi.deployments.values()].filter((d) => d.environment === "staging" && d.sha === SHA)).toHaveLength(1);
  });
});
