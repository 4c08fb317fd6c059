/**
 * Attacks on pull request previews, inside workerd with the real database:
 * - a fork's pull request in a workspace that does not trust forks gets no preview, even green;
 * - a closed event delivered through another workspace's installation (for the same repository)
 *   closes nothing of this workspace's, whose preview stays open and served;
 * - a hostile pull request number is refused where the event is parsed (never a 500 or a stage
 *   outside the `pr-<n>` form), and a hostile branch name never reaches a host: the preview's host
 *   always names its own project;
 * - sparki.yml cannot name a preview's stage, a pipeline that does anyway is not obeyed by a push
 *   deployment, and no stage rule can be set on one (it would be ignored).
 */
import { env, SELF } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PullRequestPayload } from "../../server/integrations/github/webhook-events.js";
import { connect, type Db } from "../../server/db/client.js";
import { builds, githubInstallations, pipelines, projects, pullRequestPreviews, releases } from "../../server/db/schema.js";
import { switchAlias } from "../../server/deploy/aliases.js";
import { deliverGitHubEvent } from "../../server/github-app/deliver.js";
import { QueuedGitHubEvent } from "../../server/github-app/queued-event.js";
import { Cache } from "../../server/cache/cache.js";
import { encodeId, parseSiteLabel, siteLabel, siteUrl } from "../../server/sites/hosts.js";
import { createPreview } from "../../server/use-cases/start-preview.js";
import { startDeployment } from "../../server/use-cases/start-deployment.js";
import { call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../../workers/testing/api.js";
import { builtSite, siteVersion } from "../../workers/testing/deploy.js";
import { sitePrefix } from "../../server/r2-keys.js";

let db: Db;
let close: () => Promise<void>;
let owner: TestUser;
let workspaceId: string;
let projectId: string;
let rivalProjectId: string;
const installationId = 600_000_000 + Math.floor(Math.random() * 1_000_000);
const rivalInstallationId = installationId + 1;
const repoId = installationId + 2;
const sha = (c: string) => c.repeat(40);
const cache = () => new Cache(env.UPSTASH_REDIS_REST_URL ?? "", env.UPSTASH_REDIS_REST_TOKEN ?? "", () => undefined);
const repo = (id: number, fullName: string) => ({
  id,
  fullName,
  owner: fullName.split("/")[0] ?? "",
  name: fullName.split("/")[1] ?? "",
  private: false,
  defaultBranch: "main",
  cloneUrl: `https://github.com/${fullName}.git`,
  htmlUrl: `https://github.com/${fullName}`,
});
const pr = (o: { action: "opened" | "closed"; number: number; installation?: number; fromFork?: boolean; head?: string; ref?: string }): QueuedGitHubEvent => ({
  type: "pull_request",
  action: o.action,
  installationId: o.installation ?? installationId,
  repository: repo(repoId, "acme/site"),
  number: o.number,
  head: {
    sha: o.head ?? sha("c"),
    ref: o.ref ?? "patch-1",
    repository: o.fromFork ? repo(repoId + 100, "mallory/site") : repo(repoId, "acme/site"),
  },
  base: { sha: sha("b"), ref: "main" },
  fromFork: o.fromFork ?? false,
  sender: { login: "mallory", id: 2 },
});
const previewRow = async (project: string, number: number) =>
  (
    await db
      .select()
      .from(pullRequestPreviews)
      .where(and(eq(pullRequestPreviews.projectId, project), eq(pullRequestPreviews.number, number)))
  )[0];
const status = async (url: string) => {
  const res = await SELF.fetch(url);
  await res.arrayBuffer();
  return res.status;
};

beforeAll(async () => {
  ({ db, close } = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY));
  owner = await signup("previews-attack");
  workspaceId = (await createWorkspace(owner, "Previews")).id;
  const rival = await signup("previews-rival");
  const rivalWorkspaceId = (await createWorkspace(rival, "Rival")).id;
  projectId = (await createProject(owner, workspaceId)).id;
  rivalProjectId = (await createProject(rival, rivalWorkspaceId)).id;
  await db.insert(githubInstallations).values([
    { id: installationId, accountLogin: "acme", accountType: "Organization", workspaceId, linkedAt: new Date() },
    { id: rivalInstallationId, accountLogin: "rival", accountType: "Organization", workspaceId: rivalWorkspaceId, linkedAt: new Date() },
  ]);
  await db
    .update(projects)
    .set({ githubInstallationId: installationId, githubRepositoryId: repoId, githubFullName: "acme/site" })
    .where(eq(projects.id, projectId));
  // Another workspace imported the same repository through its own installation.
  await db
    .update(projects)
    .set({ githubInstallationId: rivalInstallationId, githubRepositoryId: repoId, githubFullName: "acme/site" })
    .where(eq(projects.id, rivalProjectId));
});
afterAll(() => close());

describe("previews under attack", () => {
  it("gives a fork's pull request no preview unless the workspace trusts forks", async () => {
    await deliverGitHubEvent(env, db, crypto.randomUUID(), pr({ action: "opened", number: 21, fromFork: true, head: sha("f") }));
    const [build] = await db
      .select()
      .from(builds)
      .where(and(eq(builds.projectId, projectId), eq(builds.pullRequest, 21)));
    expect(build?.untrusted).toBe(true);
    // Even once green (the runner reports success), nothing is deployed.
    const [green] = await db
      .update(builds)
      .set({ status: "succeeded" })
      .where(eq(builds.id, build?.id ?? ""))
      .returning();
    if (!green) throw new Error("no build");
    expect(await createPreview(db, green, { id: projectId, workspaceId })).toEqual({ skipped: "a fork's pull request without trust gets no preview" });
    expect(await db.select().from(releases).where(eq(releases.buildId, green.id))).toEqual([]);
  });

  it("closes nothing of this workspace's for a closed event through another workspace's installation", async () => {
    await deliverGitHubEvent(env, db, crypto.randomUUID(), pr({ action: "opened", number: 22 }));
    expect(await previewRow(projectId, 22)).toMatchObject({ closedAt: null });
    const releaseId = crypto.randomUUID();
    await env.ARTIFACTS.put(`${sitePrefix(projectId, releaseId)}index.html`, "<h1>ours</h1>", { httpMetadata: { contentType: "text/html" } });
    await switchAlias(db, cache(), projectId, "pr-22", releaseId);
    const url = siteUrl(env.SITES_ORIGIN, { projectId, stage: "pr-22" }) ?? "";
    expect(await status(url)).toBe(200);

    const done = await deliverGitHubEvent(env, db, crypto.randomUUID(), pr({ action: "closed", number: 22, installation: rivalInstallationId }));
    expect(done).toContain(rivalProjectId);
    expect(done).not.toContain(projectId);
    expect(await previewRow(projectId, 22)).toMatchObject({ closedAt: null });
    expect(await previewRow(rivalProjectId, 22)).toMatchObject({ closedAt: expect.any(Date) });
    // An installation nobody linked reaches nothing at all.
    expect(await deliverGitHubEvent(env, db, crypto.randomUUID(), pr({ action: "closed", number: 22, installation: installationId + 50 }))).toMatch(/ignored/);
    expect(await previewRow(projectId, 22)).toMatchObject({ closedAt: null });
    expect(await status(url)).toBe(200);
  });

  it("refuses hostile pull request numbers where events are parsed, and keeps a hostile branch out of the host", async () => {
    for (const number of [0, -1, 1.5, 2 ** 31, 2 ** 53, Number.NaN, "7", null]) {
      expect(QueuedGitHubEvent.safeParse({ ...pr({ action: "opened", number: 1 }), number }).success, String(number)).toBe(false);
      expect(PullRequestPayload.shape.number.safeParse(number).success, String(number)).toBe(false);
      expect(PullRequestPayload.shape.pull_request.shape.number.safeParse(number).success, String(number)).toBe(false);
    }
    // The largest number still names a stage of this project's own host.
    const label = siteLabel({ projectId, stage: `pr-${2 ** 31 - 1}` }) ?? "";
    expect(parseSiteLabel(label)).toEqual({ projectId, stage: `pr-${2 ** 31 - 1}` });

    // A branch named to look like another project's host is only the build's branch.
    const other = encodeId(rivalProjectId);
    await deliverGitHubEvent(env, db, crypto.randomUUID(), pr({ action: "opened", number: 23, ref: `x--${other}`, head: sha("d") }));
    const [build] = await db
      .select()
      .from(builds)
      .where(and(eq(builds.projectId, projectId), eq(builds.pullRequest, 23)));
    const site = await builtSite(projectId, siteVersion("ours"), [{ stage: "production", platform: "sparki-static" }]);
    const [green] = await db
      .update(builds)
      .set({ status: "succeeded", pipelineId: (await db.select().from(builds).where(eq(builds.id, site)))[0]?.pipelineId ?? null })
      .where(eq(builds.id, build?.id ?? ""))
      .returning();
    if (!green) throw new Error("no build");
    const made = await createPreview(db, green, { id: projectId, workspaceId });
    if (!("init" in made)) throw new Error(made.skipped);
    expect(made.init.branch).toBe(`x--${other}`);
    expect(made.init.stages.map((s) => s.name)).toEqual(["pr-23"]);
    expect(parseSiteLabel(siteLabel({ projectId, stage: "pr-23" }) ?? "")).toEqual({ projectId, stage: "pr-23" });
  });

  it("does not obey a pipeline that names a preview's stage on a push deployment", async () => {
    // sparki.yml refuses the name (core/deploy/preview.test.ts); a pipeline uploaded with it anyway:
    const buildId = await builtSite(projectId, siteVersion("hijack"), [{ stage: "production", platform: "sparki-static" }]);
    const [row] = await db.select().from(builds).where(eq(builds.id, buildId));
    if (!row?.pipelineId) throw new Error("no pipeline");
    const [p] = await db.select().from(pipelines).where(eq(pipelines.id, row.pipelineId));
    const configuration = JSON.parse(JSON.stringify(p?.configuration).replaceAll('"production"', '"pr-22"').replaceAll("deploy-production", "deploy-pr-22"));
    await db.update(pipelines).set({ configuration }).where(eq(pipelines.id, row.pipelineId));
    const started = await startDeployment(env, db, {
      build: row,
      project: { id: projectId, workspaceId, defaultBranch: "main" },
      trigger: "push",
      actorId: null,
    });
    expect(started).toBeNull();
    // Nor can an admin set a rule there that previews would ignore.
    const rule = await call("PUT", `/v1/projects/${projectId}/stage-rules/pr-22`, {
      token: owner.accessToken,
      body: { requireApproval: true, branches: ["main"], approverRoles: ["owner"] },
    });
    expectProblem(rule, 400, "validation");
  });
});
