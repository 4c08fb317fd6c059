/**
 * A GitHub delivery as the queue consumer runs it, against the real database in workerd:
 * installation state and repositories follow the installation events (once per delivery), a
 * suspended or deleted installation builds nothing, and a project's sparki.yml decides which
 * branches and whether pull requests build; a closed pull request builds nothing.
 */
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, createWorkspace, signup } from "../../workers/testing/api.js";
import { connect, type Db } from "../db/client.js";
import { builds, githubInstallationRepositories, githubInstallations, pipelines, projects, webhookDeliveries } from "../db/schema.js";
import { deliverGitHubEvent } from "./deliver.js";
import type { QueuedGitHubEvent } from "./queued-event.js";

let db: Db;
let close: () => Promise<void>;
let projectId: string;
const installationId = 800_000_000 + Math.floor(Math.random() * 1_000_000);
const repoId = installationId + 1;
const sha = (c: string) => c.repeat(40);
const sender = { login: "octocat", id: 1 };
const repo = {
  id: repoId,
  fullName: "acme/api",
  owner: "acme",
  name: "api",
  private: true,
  defaultBranch: "main",
  cloneUrl: "https://github.com/acme/api.git",
  htmlUrl: "https://github.com/acme/api",
};
const installation = (action: "created" | "deleted" | "suspend" | "unsuspend"): QueuedGitHubEvent => ({
  type: "installation",
  action,
  installation: { id: installationId, appId: 1, account: { login: "acme", id: 9, type: "Organization" }, repositorySelection: "selected" },
  repositories: [{ id: repoId, fullName: "acme/api", private: true }],
  sender,
});
const push = (branch: string, commit: string): QueuedGitHubEvent => ({
  type: "push",
  installationId,
  repository: repo,
  ref: `refs/heads/${branch}`,
  refType: "branch",
  refName: branch,
  before: sha("0"),
  commit,
  sender,
});
const pr = (action: "opened" | "closed", head: string): QueuedGitHubEvent => ({
  type: "pull_request",
  action,
  installationId,
  repository: repo,
  number: 3,
  head: { sha: head, ref: "feature", repository: repo },
  base: { sha: sha("b"), ref: "main" },
  fromFork: false,
  sender,
});
const deliver = (event: QueuedGitHubEvent, id: string = crypto.randomUUID()) => deliverGitHubEvent(env, db, id, event);
const commitsBuilt = async () => (await db.select().from(builds).where(eq(builds.projectId, projectId))).map((b) => b.commitSha);
const reposOf = async () =>
  (await db.select().from(githubInstallationRepositories).where(eq(githubInstallationRepositories.installationId, installationId)))
    .map((r) => r.fullName)
    .sort();
const outcome = async (id: string) =>
  (
    await db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.source, "github"), eq(webhookDeliveries.deliveryId, id)))
  )[0];

beforeAll(async () => {
  ({ db, close } = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY));
  const owner = await signup("gh-deliver");
  const workspaceId = (await createWorkspace(owner, "Deliver")).id;
  projectId = (await createProject(owner, workspaceId)).id;
  await db
    .update(projects)
    .set({ githubInstallationId: installationId, githubRepositoryId: repoId, githubFullName: "acme/api" })
    .where(eq(projects.id, projectId));
  const id = crypto.randomUUID();
  await deliver(installation("created"), id);
  expect(await deliver(installation("created"), id)).toContain("redelivery");
  await db.update(githubInstallations).set({ workspaceId }).where(eq(githubInstallations.id, installationId));
});
afterAll(() => close());

describe("installation events", () => {
  it("records the installation and its repositories, then follows added and removed ones", async () => {
    const [row] = await db.select().from(githubInstallations).where(eq(githubInstallations.id, installationId));
    expect(row).toMatchObject({ accountLogin: "acme", accountType: "Organization", repositorySelection: "selected", deletedAt: null });
    expect(await reposOf()).toEqual(["acme/api"]);
    const change = (action: "added" | "removed", ids: number[]): QueuedGitHubEvent => ({
      type: "installation_repositories",
      action,
      installationId,
      repositorySelection: "selected",
      added: action === "added" ? ids.map((id) => ({ id, fullName: `acme/r${id}`, private: false })) : [],
      removed: action === "removed" ? ids.map((id) => ({ id, fullName: `acme/r${id}` })) : [],
      sender,
    });
    await deliver(change("added", [repoId + 10, repoId + 11]));
    expect(await reposOf()).toEqual(["acme/api", `acme/r${repoId + 10}`, `acme/r${repoId + 11}`]);
    await deliver(change("removed", [repoId + 10]));
    expect(await reposOf()).toEqual(["acme/api", `acme/r${repoId + 11}`]);
  });

  it("builds nothing while the installation is suspended, and again once it is not", async () => {
    await deliver(installation("suspend"));
    const id = crypto.randomUUID();
    await deliver(push("main", sha("1")), id);
    expect(await outcome(id)).toMatchObject({ outcome: "ignored" });
    await deliver(installation("unsuspend"));
    await deliver(push("main", sha("2")));
    expect(await commitsBuilt()).toContain(sha("2"));
    expect(await commitsBuilt()).not.toContain(sha("1"));
  });
});

describe("what the project's sparki.yml allows", () => {
  it("builds only pipeline.branches, no pull requests when pipeline.pullRequests is off, and nothing for a closed pull request", async () => {
    const closed = crypto.randomUUID();
    await deliver(pr("closed", sha("3")), closed);
    expect(await outcome(closed)).toMatchObject({ outcome: "ignored", detail: expect.stringMatching(/closed/) });
    await deliver(pr("opened", sha("4")));
    expect(await commitsBuilt()).toContain(sha("4"));

    await db.insert(pipelines).values({
      projectId,
      name: "pipeline",
      version: 1,
      contentHash: "0".repeat(64),
      source: "sparki.yml",
      configuration: { triggers: { branches: ["main", "release/*"], pullRequests: false } },
    });
    for (const [event, commit, built] of [
      [push("release/1.0", sha("5")), sha("5"), true],
      [push("feature/x", sha("6")), sha("6"), false],
      [pr("opened", sha("7")), sha("7"), false],
    ] as const) {
      await deliver(event);
      expect((await commitsBuilt()).includes(commit)).toBe(built);
    }
  });

  it("builds nothing once the installation is deleted", async () => {
    await deliver(installation("deleted"));
    const id = crypto.randomUUID();
    await deliver(push("main", sha("8")), id);
    expect(await outcome(id)).toMatchObject({ outcome: "ignored" });
    expect(await commitsBuilt()).not.toContain(sha("8"));
  });
});
