/**
 * Pull request previews inside workerd with the real database, R2 and DeploymentOrchestrator: a
 * green build of an open pull request deploys to `pr-<n>` alone (no approval, no stage rule,
 * production untouched), once per build; no preview without an open pull request, a trusted
 * build, a sparki-static stage or a pull request at all; a close hides the stage at once even
 * from a deployment that switches it late, and the removal deletes its alias and files, but not
 * once the pull request is open again.
 */
import { env, SELF } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { builtSite, deploymentWhen, siteVersion, withDb } from "../../workers/testing/deploy.js";
import { createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import { Cache } from "../cache/cache.js";
import { builds, releases, siteAliases, stageRules } from "../db/schema.js";
import { switchAlias } from "../deploy/aliases.js";
import { projectPrefix } from "../r2-keys.js";
import { siteUrl } from "../sites/hosts.js";
import { closePreview, openPreview, removePreview } from "./close-preview.js";
import { createPreview, startPreview } from "./start-preview.js";

let owner: TestUser;
let workspaceId: string;
const cache = () => new Cache(env.UPSTASH_REDIS_REST_URL ?? "", env.UPSTASH_REDIS_REST_TOKEN ?? "", () => undefined);
const stageUrl = (projectId: string, stage: string) => siteUrl(env.SITES_ORIGIN, { projectId, stage }) ?? "";
/** A site request's status, its body read (an unread one leaves workerd a cancelled pump to log). */
const status = async (url: string) => {
  const res = await SELF.fetch(url);
  await res.arrayBuffer();
  return res.status;
};
const production = { stage: "production", platform: "sparki-static", approval: true };

/** A succeeded build of pull request `n` (branch `feature`) serving `version`. */
async function prBuild(projectId: string, n: number, version: string, stages: unknown[] = [production], extra: Partial<typeof builds.$inferInsert> = {}) {
  const buildId = await builtSite(projectId, siteVersion(version), stages, { branch: "feature" });
  return withDb(async (db) => {
    const [row] = await db
      .update(builds)
      .set({ trigger: "pull_request", pullRequest: n, ...extra })
      .where(eq(builds.id, buildId))
      .returning();
    if (!row) throw new Error("no build");
    return row;
  });
}

beforeAll(async () => {
  owner = await signup("previews");
  workspaceId = (await createWorkspace(owner)).id;
});

describe("a pull request's preview", () => {
  it("deploys a green build to pr-<n> alone, without approval or stage rules, once per build", async () => {
    const project = await createProject(owner, workspaceId);
    const p = { id: project.id, workspaceId };
    await withDb((db) =>
      db.insert(stageRules).values({ projectId: p.id, stage: "production", requireApproval: true, branches: ["main"], approverRoles: ["owner"] }),
    );
    await withDb((db) => openPreview(db, p.id, 5));
    const build = await prBuild(p.id, 5, "five");
    const started = await withDb((db) => startPreview(env, db, build, p));
    if (!("releaseId" in started)) throw new Error(`no preview: ${started.skipped}`);
    const done = await deploymentWhen(owner, started.releaseId, (d) => d.status === "succeeded");
    expect(done).toMatchObject({ trigger: "preview", pullRequest: 5, branch: "feature" });
    expect(done.stages).toHaveLength(1);
    expect(done.stages[0]).toMatchObject({ name: "pr-5", approval: false, strategy: "all-at-once", status: "healthy" });

    const res = await SELF.fetch(stageUrl(p.id, "pr-5"));
    expect(await res.text()).toContain("<h1>five</h1>");
    expect(await status(stageUrl(p.id, "production"))).toBe(404);
    // A redelivered build.completed names the same release.
    expect(await withDb((db) => startPreview(env, db, build, p))).toEqual(started);
    expect(await withDb((db) => db.select().from(releases).where(eq(releases.projectId, p.id)))).toHaveLength(1);
  });

  it("is not made without an open pull request, a trusted build, a sparki-static stage, or a pull request", async () => {
    const project = await createProject(owner, workspaceId);
    const p = { id: project.id, workspaceId };
    const skipped = async (build: typeof builds.$inferSelect) => {
      const made = await withDb((db) => createPreview(db, build, p));
      return "skipped" in made ? made.skipped : "made";
    };
    expect(await skipped(await prBuild(p.id, 8, "never-opened"))).toBe("pull request #8 is not open");
    await withDb((db) => closePreview(db, p.id, 9));
    expect(await skipped(await prBuild(p.id, 9, "closed"))).toBe("pull request #9 is not open");
    await withDb((db) => openPreview(db, p.id, 10));
    expect(await skipped(await prBuild(p.id, 10, "fork", [production], { untrusted: true }))).toMatch(/fork/);
    expect(await skipped(await prBuild(p.id, 10, "script", [{ stage: "production", platform: "script", script: "true" }]))).toMatch(/no sparki-static/);
    expect(await skipped(await prBuild(p.id, 10, "red", [production], { status: "failed" }))).toBe("build is failed");
    expect(await skipped(await prBuild(p.id, 10, "api", [production], { trigger: "api" }))).toBe("not a pull request build");
    expect(await withDb((db) => db.select().from(releases).where(eq(releases.projectId, p.id)))).toEqual([]);
  });

  it("is hidden once its pull request closes, even from a late switch, and removed with its files; a reopened one is kept", async () => {
    const project = await createProject(owner, workspaceId);
    const p = { id: project.id, workspaceId };
    await withDb((db) => openPreview(db, p.id, 11));
    const started = await withDb(async (db) => startPreview(env, db, await prBuild(p.id, 11, "eleven"), p));
    if (!("releaseId" in started)) throw new Error(`no preview: ${started.skipped}`);
    await deploymentWhen(owner, started.releaseId, (d) => d.status === "succeeded");
    const own = siteUrl(env.SITES_ORIGIN, { projectId: p.id, deploymentId: started.releaseId }) ?? "";
    expect(await status(stageUrl(p.id, "pr-11"))).toBe(200);

    await withDb((db) => openPreview(db, p.id, 11));
    expect(await withDb((db) => removePreview({ env, db, cache: cache(), bucket: env.ARTIFACTS }, p.id, 11))).toBeNull();
    expect(await status(stageUrl(p.id, "pr-11"))).toBe(200);

    await withDb((db) => closePreview(db, p.id, 11));
    const removed = await withDb((db) => removePreview({ env, db, cache: cache(), bucket: env.ARTIFACTS }, p.id, 11));
    expect(removed).toMatchObject({ releases: [started.releaseId], cancelled: 0, more: false });
    expect(removed?.deleted).toBeGreaterThan(0);
    expect(await status(stageUrl(p.id, "pr-11"))).toBe(404);
    expect(await status(own)).toBe(404);
    expect((await env.ARTIFACTS.list({ prefix: `${projectPrefix(p.id)}deployments/` })).objects).toEqual([]);
    const aliases = await withDb((db) =>
      db
        .select()
        .from(siteAliases)
        .where(and(eq(siteAliases.projectId, p.id), eq(siteAliases.stage, "pr-11"))),
    );
    expect(aliases).toEqual([]);

    // A deployment still in flight at the close (a rollback, say) switches the alias back: still hidden.
    await withDb((db) => switchAlias(db, cache(), p.id, "pr-11", started.releaseId));
    expect(await status(stageUrl(p.id, "pr-11"))).toBe(404);
  });
});
