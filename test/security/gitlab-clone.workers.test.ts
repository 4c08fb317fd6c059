/**
 * The GitLab link's access token as a job's clone credential: handed to the runner holding a job
 * of the linked project's own repository, and to nobody else. A fork's merge request build (cloned
 * from the fork) and a build of a repository URL changed after linking get none.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import { deliverTo, GITLAB, linkGitLab, mergeRequestPayload, pushOf, sha } from "../../workers/testing/gitlab.js";
import { claimFor, registerWorkspaceRunner } from "../../workers/testing/runner.js";
import type { HookProject } from "../fakes/gitlab-hooks.ts";

let owner: TestUser;
let workspaceId: string;
let runnerToken: string;

beforeAll(async () => {
  owner = await signup("gl-clone");
  workspaceId = (await createWorkspace(owner)).id;
  ({ runnerToken } = await registerWorkspaceRunner(owner.accessToken, workspaceId));
});

/** A project whose git URL is the GitLab project's, linked to it. */
async function linkedProject(path: string): Promise<{ id: string; token: string; gitlab: HookProject }> {
  const res = await call("POST", `/v1/workspaces/${workspaceId}/projects`, {
    token: owner.accessToken,
    body: { name: path.replace("/", "-"), gitUrl: `${GITLAB}/${path}.git` },
  });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.id, ...(await linkGitLab(res.body.id, path)) };
}

describe("GitLab clone credential", () => {
  it("comes with every job of the project's own repository", async () => {
    const p = await linkedProject("acme/private-app");
    const res = await deliverTo(p.id, pushOf(p.gitlab, "refs/heads/main", sha("a")), { token: p.token });
    expect(res.status, res.text).toBe(202);
    const job = await claimFor(runnerToken, res.body.buildId, "plan");
    expect(job.repo.url).toBe(`${GITLAB}/acme/private-app.git`);
    expect(job.cloneCredential).toEqual({ username: "sparki", password: "glpat-test-token-not-used" });
  });

  it("is not given to a fork's merge request build, which clones from the fork", async () => {
    const p = await linkedProject("acme/forked-app");
    const fork = { id: 777_777, path_with_namespace: "mallory/forked-app", default_branch: "main", visibility: "public" as const };
    const res = await deliverTo(
      p.id,
      mergeRequestPayload(GITLAB, { target: p.gitlab, source: fork, action: "open", iid: 9, sourceBranch: "main", lastCommit: sha("b") }),
      { token: p.token },
    );
    expect(res.status, res.text).toBe(202);
    const job = await claimFor(runnerToken, res.body.buildId, "plan");
    expect(job.repo.url).toBe(`${GITLAB}/mallory/forked-app.git`);
    expect(job.cloneCredential).toBeUndefined();
    expect(job.secrets).toEqual([]);
  });

  it("is not given once the project's git URL points elsewhere", async () => {
    const p = await linkedProject("acme/moved-app");
    const moved = await call("PATCH", `/v1/projects/${p.id}`, { token: owner.accessToken, body: { gitUrl: "https://git.evil.example/acme/moved-app.git" } });
    expect(moved.status, moved.text).toBe(200);
    const res = await deliverTo(p.id, pushOf(p.gitlab, "refs/heads/main", sha("c")), { token: p.token });
    expect(res.status, res.text).toBe(202);
    const job = await claimFor(runnerToken, res.body.buildId, "plan");
    expect(job.repo.url).toBe("https://git.evil.example/acme/moved-app.git");
    expect(job.cloneCredential).toBeUndefined();
  });
});
