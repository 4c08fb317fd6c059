import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { builds as buildsTable, gitlabLinks } from "../../server/db/schema.js";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { withDb } from "../testing/deploy.js";
import { pushPayload } from "../../test/fakes/gitlab-hooks.ts";
import { deliverTo, GITLAB, linkGitLab, mergeRequestPayload, pushOf, sha } from "../testing/gitlab.js";

let owner: TestUser;
let admin: TestUser;
let developer: TestUser;
let viewer: TestUser;
let outsider: TestUser;
let workspaceId: string;

beforeAll(async () => {
  [owner, admin, developer, viewer, outsider] = await Promise.all([signup("gl"), signup("gl-admin"), signup("gl-dev"), signup("gl-viewer"), signup("gl-out")]);
  workspaceId = (await createWorkspace(owner)).id;
  await createWorkspace(outsider, "Elsewhere");
  await addMember(owner, workspaceId, admin, "admin");
  await addMember(owner, workspaceId, developer, "developer");
  await addMember(owner, workspaceId, viewer, "viewer");
});

const buildRows = (projectId: string) =>
  withDb((db) =>
    db
      .select({
        id: buildsTable.id,
        branch: buildsTable.branch,
        commitSha: buildsTable.commitSha,
        trigger: buildsTable.trigger,
        untrusted: buildsTable.untrusted,
        pullRequest: buildsTable.pullRequest,
        baseBranch: buildsTable.baseBranch,
      })
      .from(buildsTable)
      .where(eq(buildsTable.projectId, projectId)),
  );
const linkRow = (projectId: string) => withDb(async (db) => (await db.select().from(gitlabLinks).where(eq(gitlabLinks.projectId, projectId)))[0]);
const body = { path: "acme/app", accessToken: "glpat-abcdefghijklmnop" };

describe("a project's GitLab link", () => {
  it("shows whether the project is linked and its deliveries, never a token", async () => {
    const project = await createProject(owner, workspaceId);
    const before = await call("GET", `/v1/projects/${project.id}/gitlab`, { token: viewer.accessToken });
    expect(before.status, before.text).toBe(200);
    expect(before.body).toMatchObject({ linked: false, gitlabProjectId: null, path: null, deliveries: [] });
    expect(before.body.webhookUrl).toBe(`http://sparki.test/v1/integrations/gitlab/webhook/${project.id}`);

    const { token, gitlab } = await linkGitLab(project.id);
    expect((await deliverTo(project.id, pushOf(gitlab, "refs/heads/main", sha("a")), { token })).status).toBe(202);
    const after = await call("GET", `/v1/projects/${project.id}/gitlab`, { token: viewer.accessToken });
    expect(after.body).toMatchObject({ linked: true, gitlabProjectId: gitlab.id, path: gitlab.path_with_namespace });
    expect(after.body.deliveries).toMatchObject([{ event: "push", outcome: "started" }]);
    expect(after.text).not.toContain(token);
    expect(after.text).not.toContain("glpat-");
  });

  it("takes an owner or admin to link or unlink; developers and viewers get 403 and nothing changes", async () => {
    const project = await createProject(owner, workspaceId);
    await linkGitLab(project.id);
    for (const user of [developer, viewer]) {
      expectProblem(await call("PUT", `/v1/projects/${project.id}/gitlab`, { token: user.accessToken, body }), 403, "forbidden");
      expectProblem(await call("DELETE", `/v1/projects/${project.id}/gitlab`, { token: user.accessToken }), 403, "forbidden");
    }
    expect(await linkRow(project.id)).toBeDefined();
    expect((await call("DELETE", `/v1/projects/${project.id}/gitlab`, { token: admin.accessToken })).status).toBe(204);
    expect(await linkRow(project.id)).toBeUndefined();
    expectProblem(await call("DELETE", `/v1/projects/${project.id}/gitlab`, { token: admin.accessToken }), 404, "not_found");
  });

  it("takes an admin-scope token: a write token cannot link", async () => {
    const project = await createProject(owner, workspaceId);
    const token = await call("POST", "/v1/tokens", { token: owner.accessToken, body: { name: "ci", scope: "write" } });
    expect(token.status, token.text).toBe(201);
    expectProblem(await call("PUT", `/v1/projects/${project.id}/gitlab`, { token: token.body.token, body }), 403, "forbidden");
  });

  it("is invisible to another workspace: 404 for PUT, GET and DELETE, the link untouched", async () => {
    const project = await createProject(owner, workspaceId);
    const { token, gitlab } = await linkGitLab(project.id);
    const before = await linkRow(project.id);
    for (const method of ["PUT", "GET", "DELETE"]) {
      const res = await call(method, `/v1/projects/${project.id}/gitlab`, { token: outsider.accessToken, ...(method === "PUT" ? { body } : {}) });
      expectProblem(res, 404, "not_found");
    }
    expect(await linkRow(project.id)).toEqual(before);
    expect((await deliverTo(project.id, pushOf(gitlab, "refs/heads/main", sha("b")), { token })).status).toBe(202);
  });

  it("refuses a body naming both or neither of projectId and path, and unknown fields", async () => {
    const project = await createProject(owner, workspaceId);
    for (const bad of [{ accessToken: "glpat-abcdefghijklmnop" }, { ...body, projectId: 12 }, { ...body, extra: 1 }, { path: "acme/app" }]) {
      expectProblem(await call("PUT", `/v1/projects/${project.id}/gitlab`, { token: owner.accessToken, body: bad }), 400, "validation");
    }
  });

  it("documents the routes, the webhook without bearer auth", async () => {
    const doc = (await call("GET", "/v1/openapi.json")).body;
    expect(Object.keys(doc.paths["/v1/projects/{id}/gitlab"]).sort()).toEqual(["delete", "get", "put"]);
    const hook = doc.paths["/v1/integrations/gitlab/webhook/{projectId}"].post;
    expect(hook.security).toBeUndefined();
    expect(hook.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(["x-gitlab-token", "x-gitlab-event"]));
  });
});

describe("GitLab webhook deliveries", () => {
  it("builds a pushed branch's commit once, however often GitLab delivers it", async () => {
    const project = await createProject(owner, workspaceId);
    const { token, gitlab } = await linkGitLab(project.id);
    const payload = pushOf(gitlab, "refs/heads/feature/x", sha("c"));
    const first = await deliverTo(project.id, payload, { token, idempotencyKey: "11111111-2222-3333-4444-555555555555" });
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({ outcome: "started", duplicate: false });
    const again = await deliverTo(project.id, payload, { token, idempotencyKey: "11111111-2222-3333-4444-555555555555" });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ outcome: "started", duplicate: true, buildId: first.body.buildId });
    expect(await buildRows(project.id)).toEqual([
      { id: first.body.buildId, branch: "feature/x", commitSha: sha("c"), trigger: "push", untrusted: false, pullRequest: null, baseBranch: null },
    ]);
  });

  it("answers 202 and starts nothing for deleted branches and tags, other events, closed and merged merge requests", async () => {
    const project = await createProject(owner, workspaceId);
    const { token, gitlab } = await linkGitLab(project.id);
    const mr = (action: "close" | "merge" | "update" | "approved") =>
      mergeRequestPayload(GITLAB, { target: gitlab, action, iid: 7, sourceBranch: "feat", lastCommit: sha("d") });
    const ignored = [
      [pushOf(gitlab, "refs/heads/gone", "0".repeat(40), sha("e")), {}],
      [pushOf(gitlab, "refs/tags/v1.0.0", "0".repeat(40), sha("f")), {}],
      [{ object_kind: "note" }, { event: "Note Hook" }],
      [mr("close"), {}],
      [mr("merge"), {}],
      [mr("update"), {}],
      [mr("approved"), {}],
    ] as const;
    for (const [payload, d] of ignored) {
      const res = await deliverTo(project.id, payload as Record<string, unknown>, { token, ...d });
      expect(res.status, res.text).toBe(202);
      expect(res.body).toMatchObject({ outcome: "ignored", buildId: null });
      expect(res.body.detail).toBeTruthy();
    }
    expect(await buildRows(project.id)).toEqual([]);
  });

  it("builds an annotated Tag Push Hook's commit (checkout_sha, not the tag object) as a tag build", async () => {
    const project = await createProject(owner, workspaceId);
    const { token, gitlab } = await linkGitLab(project.id);
    const payload = pushPayload(GITLAB, gitlab, { ref: "refs/tags/v1.2.0", after: sha("7"), checkoutSha: sha("8") });
    const res = await deliverTo(project.id, payload, { token });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ outcome: "started", duplicate: false });
    const rows = await withDb((db) =>
      db
        .select({ branch: buildsTable.branch, tag: buildsTable.tag, commitSha: buildsTable.commitSha })
        .from(buildsTable)
        .where(eq(buildsTable.projectId, project.id)),
    );
    expect(rows).toEqual([{ branch: null, tag: "v1.2.0", commitSha: sha("8") }]);
    const shown = await call("GET", `/v1/builds/${res.body.buildId}`, { token: owner.accessToken });
    expect(shown.body).toMatchObject({ branch: "", tag: "v1.2.0", commitSha: sha("8") });
  });

  it("builds a merge request's source branch head when opened, reopened or updated with new commits", async () => {
    const project = await createProject(owner, workspaceId);
    const { token, gitlab } = await linkGitLab(project.id);
    const opened = await deliverTo(
      project.id,
      mergeRequestPayload(GITLAB, { target: gitlab, action: "open", iid: 3, sourceBranch: "feat", lastCommit: sha("1") }),
      { token },
    );
    expect(opened.status, opened.text).toBe(202);
    const updated = await deliverTo(
      project.id,
      mergeRequestPayload(GITLAB, { target: gitlab, action: "update", iid: 3, sourceBranch: "feat", lastCommit: sha("2"), oldrev: sha("1") }),
      { token },
    );
    expect(updated.body).toMatchObject({ outcome: "started" });
    const rows = await buildRows(project.id);
    expect(rows.map((r) => [r.branch, r.commitSha, r.trigger, r.pullRequest, r.untrusted]).sort()).toEqual([
      ["feat", sha("1"), "pull_request", 3, false],
      ["feat", sha("2"), "pull_request", 3, false],
    ]);
  });

  it("builds a fork's merge request as untrusted (no secrets, no deployments)", async () => {
    const project = await createProject(owner, workspaceId);
    const { token, gitlab } = await linkGitLab(project.id);
    const fork = { id: 99_999, path_with_namespace: "mallory/app", default_branch: "main", visibility: "public" as const };
    const res = await deliverTo(
      project.id,
      mergeRequestPayload(GITLAB, {
        target: gitlab,
        source: fork,
        action: "open",
        iid: 4,
        sourceBranch: "main",
        targetBranch: "release",
        lastCommit: sha("9"),
      }),
      { token },
    );
    expect(res.status, res.text).toBe(202);
    // Its caches: read its own, then release's (its target); written only to its own (not main's, its branch's name).
    expect(await buildRows(project.id)).toMatchObject([{ branch: "main", commitSha: sha("9"), untrusted: true, pullRequest: 4, baseBranch: "release" }]);
  });

  it("honours sparki.yml pipeline.branches", async () => {
    const project = await createProject(owner, workspaceId);
    const saved = await call("PUT", `/v1/projects/${project.id}/pipeline`, {
      token: owner.accessToken,
      rawBody: "pipeline:\n  branches: [main]\n",
      headers: { "content-type": "text/yaml" },
    });
    expect(saved.status, saved.text).toBeLessThan(300);
    const { token, gitlab } = await linkGitLab(project.id);
    const other = await deliverTo(project.id, pushOf(gitlab, "refs/heads/wip", sha("3")), { token });
    expect(other.body).toMatchObject({ outcome: "ignored" });
    const main = await deliverTo(project.id, pushOf(gitlab, "refs/heads/main", sha("4")), { token });
    expect(main.body).toMatchObject({ outcome: "started" });
  });

  it("refuses every delivery once the project is unlinked", async () => {
    const project = await createProject(owner, workspaceId);
    const { token, gitlab } = await linkGitLab(project.id);
    expect((await call("DELETE", `/v1/projects/${project.id}/gitlab`, { token: owner.accessToken })).status).toBe(204);
    expectProblem(await deliverTo(project.id, pushOf(gitlab, "refs/heads/main", sha("5")), { token }), 401, "unauthenticated");
    expect(await buildRows(project.id)).toEqual([]);
  });
});
