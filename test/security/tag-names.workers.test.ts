/**
 * Hostile tag names from a GitLab Tag Push Hook (the push hook's are refused with 400, see
 * push-hooks.workers.test.ts; GitHub's in github-app.workers.test.ts): a name git would refuse
 * is answered 202 "ignored" (GitLab disables hooks after 4xx answers), never a 5xx, and starts
 * no build, so it never reaches a runner's git.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import { deliverTo, linkGitLab, pushOf, sha } from "../../workers/testing/gitlab.js";

let owner: TestUser;
let workspaceId: string;

beforeAll(async () => {
  owner = await signup("tag-names");
  workspaceId = (await createWorkspace(owner)).id;
});

describe("GitLab Tag Push Hook: hostile tag names", () => {
  it("are ignored with 202 and start nothing", async () => {
    const project = await createProject(owner, workspaceId);
    const { token, gitlab } = await linkGitLab(project.id);
    const names = ["--upload-pack=touch /tmp/pwned", "-v1", "../../etc/passwd", "v1/../x", "v1\u0007", "v1\nx", "a b", "v1.lock", "x".repeat(300), "\ud800"];
    for (const name of names) {
      const res = await deliverTo(project.id, pushOf(gitlab, `refs/tags/${name}`, sha("a")), { token });
      expect(res.status, `${JSON.stringify(name).slice(0, 40)} → ${res.text}`).toBeLessThan(500);
      if (res.status === 202) expect(res.body).toMatchObject({ outcome: "ignored", buildId: null });
    }
    const builds = await call("GET", `/v1/projects/${project.id}/builds`, { token: owner.accessToken });
    expect(builds.body.items).toEqual([]);
    // A good name still builds: the refusals above are the names', not the hook's.
    const good = await deliverTo(project.id, pushOf(gitlab, "refs/tags/v1.0.0", sha("b")), { token });
    expect(good.body).toMatchObject({ outcome: "started" });
  });
});
