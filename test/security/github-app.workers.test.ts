/**
 * Attacks on the GitHub App's routes and on what a delivery may do:
 * - the webhook: a missing, wrong or foreign signature is a 401 and queues nothing;
 * - a delivery (as the queue consumer runs it): a redelivery starts nothing new, a repository no
 *   linked workspace imported is ignored (recorded as such), an installation linked to another
 *   workspace builds nothing there, a fork's pull request builds untrusted unless trusted;
 * - linking: the install link only for owners and admins of that workspace; the setup redirect
 *   refuses a forged, altered, expired or foreign state and a state whose user is not an admin;
 *   nobody outside a workspace can list its installations or import into it.
 */
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Db } from "../../server/db/client.js";
import { builds, githubInstallations, projects, webhookDeliveries } from "../../server/db/schema.js";
import { deliverGitHubEvent } from "../../server/github-app/deliver.js";
import { signInstallState } from "../../server/github-app/install-state.js";
import type { QueuedGitHubEvent } from "../../server/github-app/queued-event.js";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../../workers/testing/api.js";
import { sign } from "../../workers/testing/push-hook.js";
import { claimFor, lease, registerWorkspaceRunner } from "../../workers/testing/runner.js";

const SECRET = "github-webhook-secret-for-tests";
const JWT_SECRET = "test-secret-that-is-long-enough-for-hs256";
let db: Db;
let close: () => Promise<void>;
let owner: TestUser;
let developer: TestUser;
let stranger: TestUser;
let workspaceId: string;
let otherWorkspaceId: string;
let projectId: string;
let otherProjectId: string;
// Ids no other test file uses (GitHub's are positive integers).
const installationId = 700_000_000 + Math.floor(Math.random() * 1_000_000);
const foreignInstallationId = installationId + 1;
const repoId = installationId + 2;
const sha = (c: string) => c.repeat(40);

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
const sender = { login: "octocat", id: 1 };
const pushEvent = (o: { installation?: number; repository?: number; ref?: string; commit?: string | null } = {}): QueuedGitHubEvent => {
  const ref = o.ref ?? "refs/heads/main";
  return {
    type: "push",
    installationId: o.installation ?? installationId,
    repository: repo(o.repository ?? repoId, "acme/shop"),
    ref,
    refType: ref.startsWith("refs/tags/") ? "tag" : "branch",
    refName: ref.replace(/^refs\/(heads|tags)\//, ""),
    before: sha("0"),
    commit: o.commit === undefined ? sha("a") : o.commit,
    sender,
  };
};
const prEvent = (number: number, head: string, fromFork: boolean): QueuedGitHubEvent => ({
  type: "pull_request",
  action: "opened",
  installationId,
  repository: repo(repoId, "acme/shop"),
  number,
  head: { sha: head, ref: "patch-1", repository: fromFork ? repo(repoId + 100, "mallory/shop") : repo(repoId, "acme/shop") },
  base: { sha: sha("b"), ref: "main" },
  fromFork,
  sender,
});

const buildsOf = (id: string) => db.select().from(builds).where(eq(builds.projectId, id));
const deliveriesOf = (deliveryId: string) =>
  db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.source, "github"), eq(webhookDeliveries.deliveryId, deliveryId)));

beforeAll(async () => {
  ({ db, close } = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY));
  owner = await signup("gh-owner");
  developer = await signup("gh-dev");
  stranger = await signup("gh-stranger");
  workspaceId = (await createWorkspace(owner, "GitHub")).id;
  otherWorkspaceId = (await createWorkspace(owner, "Other")).id;
  await addMember(owner, workspaceId, developer, "developer");
  projectId = (await createProject(owner, workspaceId)).id;
  otherProjectId = (await createProject(owner, otherWorkspaceId)).id;
  await db.insert(githubInstallations).values([
    { id: installationId, accountLogin: "acme", accountType: "Organization", workspaceId, linkedAt: new Date() },
    { id: foreignInstallationId, accountLogin: "acme", accountType: "Organization", workspaceId: null },
  ]);
  const link = { githubInstallationId: installationId, githubRepositoryId: repoId, githubFullName: "acme/shop" };
  await db.update(projects).set(link).where(eq(projects.id, projectId));
  // The other workspace imported the same repository through the installation linked to the first: never built there.
  await db.update(projects).set(link).where(eq(projects.id, otherProjectId));
});
afterAll(() => close());

async function webhook(body: string, headers: Record<string, string>) {
  return call("POST", "/v1/integrations/github/webhook", { rawBody: body, headers: { "content-type": "application/json", ...headers } });
}

describe("the webhook: the signature is the gate", () => {
  it("refuses missing, wrong, foreign and other-body signatures with one 401 and records nothing", async () => {
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const id = crypto.randomUUID();
    const base = { "x-github-event": "ping", "x-github-delivery": id };
    const attempts = [
      await webhook(body, base),
      await webhook(body, { ...base, "x-hub-signature-256": "" }),
      await webhook(body, { ...base, "x-hub-signature-256": await sign("another-secret-entirely", body) }),
      await webhook(body, { ...base, "x-hub-signature-256": await sign(SECRET, `${body} `) }),
      await webhook(`${body} `, { ...base, "x-hub-signature-256": await sign(SECRET, body) }),
      await webhook(body, { ...base, "x-hub-signature": `sha1=${"a".repeat(40)}` }),
    ];
    for (const res of attempts) expectProblem(res, 401, "unauthenticated");
    expect(await deliveriesOf(id)).toEqual([]);
  });

  it("answers a signed delivery 202 at once", async () => {
    const body = JSON.stringify({ zen: "Design for failure.", hook_id: 1 });
    const res = await webhook(body, { "x-github-event": "ping", "x-github-delivery": crypto.randomUUID(), "x-hub-signature-256": await sign(SECRET, body) });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ queued: true });
  });
});

describe("a delivery, as the queue runs it", () => {
  it("builds the pushed commit once; the redelivery starts nothing", async () => {
    const id = crypto.randomUUID();
    const first = await deliverGitHubEvent(env, db, id, pushEvent());
    expect(first).toContain("build");
    expect(await deliverGitHubEvent(env, db, id, pushEvent())).toContain("redelivery");
    const made = await buildsOf(projectId);
    expect(made.filter((b) => b.commitSha === sha("a"))).toHaveLength(1);
    expect(made[0]).toMatchObject({ branch: "main", trigger: "push", untrusted: false });
    expect(await deliveriesOf(id)).toHaveLength(1);
    // Never in the other workspace, which imported the repository through an installation it did not link.
    expect(await buildsOf(otherProjectId)).toEqual([]);
  });

  it("ignores a repository nobody imported, an installation nobody linked, deleted branches and tags, and records why", async () => {
    const cases: [QueuedGitHubEvent, RegExp][] = [
      [pushEvent({ repository: repoId + 50 }), /not imported/],
      [pushEvent({ installation: foreignInstallationId }), /not imported/],
      [pushEvent({ commit: null, ref: "refs/heads/gone" }), /deleted/],
      [pushEvent({ ref: "refs/tags/v0.9.0", commit: null }), /tag v0.9.0 was deleted/],
      // Hostile tag names (git refuses them) never become a build, nor a runner's git argument.
      [pushEvent({ ref: "refs/tags/--upload-pack=touch /tmp/pwned", commit: sha("c") }), /not a valid git ref name/],
      [pushEvent({ ref: "refs/tags/../../etc", commit: sha("c") }), /not a valid git ref name/],
      [pushEvent({ ref: "refs/tags/v1\u0007\n", commit: sha("c") }), /not a valid git ref name/],
      [pushEvent({ ref: `refs/tags/${"v".repeat(300)}`, commit: sha("c") }), /not a valid git ref name/],
    ];
    const before = (await buildsOf(projectId)).length;
    for (const [event, why] of cases) {
      const id = crypto.randomUUID();
      await deliverGitHubEvent(env, db, id, event);
      const rows = await deliveriesOf(id);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.outcome).toBe("ignored");
        expect(row.detail).toMatch(why);
      }
    }
    expect(await buildsOf(projectId)).toHaveLength(before);
  });

  it("builds a pushed tag's commit as a tag build, beside the branch's build (neither supersedes the other)", async () => {
    const branchBuild = crypto.randomUUID();
    await deliverGitHubEvent(env, db, branchBuild, pushEvent({ commit: sha("7") }));
    const id = crypto.randomUUID();
    expect(await deliverGitHubEvent(env, db, id, pushEvent({ ref: "refs/tags/v1.0.0", commit: sha("8") }))).toContain("build");
    const made = await buildsOf(projectId);
    const tagged = made.find((b) => b.commitSha === sha("8"));
    expect(tagged).toMatchObject({ branch: null, tag: "v1.0.0", trigger: "push", supersedeKey: null });
    expect(made.find((b) => b.commitSha === sha("7"))?.status).not.toBe("cancelled");
    expect(await deliveriesOf(id)).toEqual([expect.objectContaining({ outcome: "started", buildId: tagged?.id })]);
  });

  it("builds a fork's pull request untrusted (no secrets, no deployments) unless the workspace trusts forks", async () => {
    await deliverGitHubEvent(env, db, crypto.randomUUID(), prEvent(7, sha("d"), true));
    await deliverGitHubEvent(env, db, crypto.randomUUID(), prEvent(8, sha("e"), false));
    const made = await buildsOf(projectId);
    expect(made.find((b) => b.commitSha === sha("d"))).toMatchObject({
      untrusted: true,
      pullRequest: 7,
      trigger: "pull_request",
      branch: "patch-1",
      baseBranch: "main",
    });
    expect(made.find((b) => b.commitSha === sha("e"))).toMatchObject({ untrusted: false, pullRequest: 8 });
    const trust = (user: TestUser, on: boolean) =>
      call("PATCH", `/v1/workspaces/${workspaceId}/github`, { token: user.accessToken, body: { trustForkPullRequests: on } });
    expectProblem(await trust(developer, true), 403, "forbidden");
    expectProblem(await trust(stranger, true), 404, "not_found");
    expect((await trust(owner, true)).body).toEqual({ trustForkPullRequests: true });
    await deliverGitHubEvent(env, db, crypto.randomUUID(), prEvent(9, sha("f"), true));
    expect((await buildsOf(projectId)).find((b) => b.commitSha === sha("f"))).toMatchObject({ untrusted: false, pullRequest: 9 });
    expect((await trust(owner, false)).status).toBe(200);
  });

  it("gives an untrusted build's jobs no secrets, even on the workspace's own runner; a trusted one gets them", async () => {
    const put = await call("PUT", `/v1/projects/${projectId}/secrets/TOKEN`, { token: owner.accessToken, body: { value: "fork-must-not-see-this" } });
    expect(put.status, put.text).toBe(201);
    await deliverGitHubEvent(env, db, crypto.randomUUID(), prEvent(21, sha("1"), true));
    await deliverGitHubEvent(env, db, crypto.randomUUID(), prEvent(22, sha("2"), false));
    const made = await buildsOf(projectId);
    const fork = made.find((b) => b.commitSha === sha("1"));
    const same = made.find((b) => b.commitSha === sha("2"));
    if (!fork || !same) throw new Error("the pull request builds were not made");
    // The claim would also mint a clone token from GitHub for a linked project (clone-credentials.ts),
    // and nothing answers as GitHub here: the builds are made, so the link can go.
    await db.update(projects).set({ githubInstallationId: null }).where(eq(projects.id, projectId));
    const runner = await registerWorkspaceRunner(owner.accessToken, workspaceId);
    const forkJob = await claimFor(runner.runnerToken, fork.id, "plan");
    expect(forkJob.secrets).toEqual([]);
    await call("POST", `/v1/runner/jobs/${forkJob.jobId}/release`, { token: forkJob.jobToken, body: { ...lease(forkJob), reason: "shutdown" } });
    const sameJob = await claimFor(runner.runnerToken, same.id, "plan");
    expect(sameJob.secrets).toEqual([{ name: "TOKEN", value: "fork-must-not-see-this" }]);
    await call("POST", `/v1/runner/jobs/${sameJob.jobId}/release`, { token: sameJob.jobToken, body: { ...lease(sameJob), reason: "shutdown" } });
    await db.update(projects).set({ githubInstallationId: installationId }).where(eq(projects.id, projectId));
  });

  it("refuses to deploy an untrusted build, even when asked by hand", async () => {
    const [build] = (await buildsOf(projectId)).filter((b) => b.untrusted);
    if (!build) throw new Error("no untrusted build");
    await db.update(builds).set({ status: "succeeded" }).where(eq(builds.id, build.id));
    const res = await call("POST", `/v1/builds/${build.id}/deploy`, { token: owner.accessToken });
    expectProblem(res, 409, "conflict");
    expect(res.body.detail).toMatch(/fork/);
  });
});

describe("linking a workspace to an installation", () => {
  const install = (user: TestUser, ws: string) =>
    call("GET", `/v1/integrations/github/install?workspaceId=${ws}`, { token: user.accessToken, headers: { accept: "application/json" } });
  const setup = (state: string, id = foreignInstallationId) =>
    call("GET", `/v1/integrations/github/setup?installation_id=${id}&setup_action=install&state=${encodeURIComponent(state)}`);

  it("gives the install link only to owners and admins of that workspace", async () => {
    expectProblem(await install(developer, workspaceId), 403, "forbidden");
    expectProblem(await install(stranger, workspaceId), 404, "not_found");
    const res = await install(owner, workspaceId);
    expect(res.status, res.text).toBe(200);
    // On GITHUB_WEB_URL (github.com unless set; the tests point it at nothing).
    const web = (env as unknown as { GITHUB_WEB_URL: string }).GITHUB_WEB_URL;
    expect(res.body.url.startsWith(`${web}/apps/sparki-test/installations/new?state=`), res.body.url).toBe(true);
    expect(res.body.url).toMatch(/\/installations\/new\?state=[\w.-]+$/);
  });

  it("refuses a forged, altered, expired or missing state, and a state whose user is no admin, linking nothing", async () => {
    const good = await signInstallState({ workspaceId, userId: owner.id }, JWT_SECRET);
    const [h, p, s] = good.split(".") as [string, string, string];
    const otherPayload = btoa(JSON.stringify({ ...JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/"))), wid: otherWorkspaceId }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    const refusals = [
      await setup(await signInstallState({ workspaceId, userId: owner.id }, "a-different-secret-that-is-long-enough")),
      await setup(`${h}.${otherPayload}.${s}`),
      await setup(await signInstallState({ workspaceId, userId: owner.id }, JWT_SECRET, Date.now() - 11 * 60_000)),
      await setup("not-a-jwt"),
    ];
    for (const res of refusals) expectProblem(res, 400, "validation");
    expectProblem(await call("GET", `/v1/integrations/github/setup?installation_id=${foreignInstallationId}&setup_action=install`), 400, "validation");
    // A developer's state (as if they had got one) and a stranger's naming the workspace.
    expectProblem(await setup(await signInstallState({ workspaceId, userId: developer.id }, JWT_SECRET)), 403, "forbidden");
    expectProblem(await setup(await signInstallState({ workspaceId, userId: stranger.id }, JWT_SECRET)), 403, "forbidden");
    const [row] = await db.select().from(githubInstallations).where(eq(githubInstallations.id, foreignInstallationId));
    expect(row?.workspaceId).toBeNull();
  });

  it("lets only members list the workspace's installations, and only project creators import", async () => {
    expectProblem(await call("GET", `/v1/workspaces/${workspaceId}/github/installations`, { token: stranger.accessToken }), 404, "not_found");
    const listed = await call("GET", `/v1/workspaces/${workspaceId}/github/installations`, { token: developer.accessToken });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items.map((i: { id: number }) => i.id)).toEqual([installationId]);
    expect(listed.body.trustForkPullRequests).toBe(false);
    const other = await call("GET", `/v1/workspaces/${otherWorkspaceId}/github/installations`, { token: owner.accessToken });
    expect(other.body.items).toEqual([]);
    expectProblem(
      await call("POST", `/v1/workspaces/${workspaceId}/projects/github`, { token: stranger.accessToken, body: { repository: "acme/shop" } }),
      404,
      "not_found",
    );
    // No installation linked there: nothing can be imported.
    expectProblem(
      await call("POST", `/v1/workspaces/${otherWorkspaceId}/projects/github`, { token: owner.accessToken, body: { repository: "acme/shop" } }),
      404,
      "not_found",
    );
  });
});
