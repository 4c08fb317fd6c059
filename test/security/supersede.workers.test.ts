/**
 * Attacks on superseding: a build is cancelled as superseded only by a newer build of its own
 * project. Another workspace's pushes to the same branch name and commit pattern, its push hook
 * key used on our project, or a sparki.yml that turns superseding on in its own project never
 * cancel our build, and a deployment of another project never makes ours wait.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { supersedeKey } from "../../server/use-cases/supersede-builds.ts";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import { createHook, push, shaOf } from "../../workers/testing/push-hook.js";

let victim: TestUser;
let attacker: TestUser;
let victimWs: string;
let attackerWs: string;
beforeAll(async () => {
  [victim, attacker] = await Promise.all([signup("victim"), signup("attacker")]);
  victimWs = (await createWorkspace(victim, "Victim")).id;
  attackerWs = (await createWorkspace(attacker, "Attacker")).id;
});

const statusOf = async (user: TestUser, id: string) => (await call("GET", `/v1/builds/${id}`, { token: user.accessToken })).body.status as string;

async function hookedProject(user: TestUser, ws: string, name?: string): Promise<{ id: string; secret: string }> {
  const project = await createProject(user, ws, name);
  return { id: project.id, secret: (await createHook(user, project.id)).secret };
}

describe("superseding stays inside its project", () => {
  it("another workspace's pushes to the same branch (same project name) never cancel ours", async () => {
    const mine = await hookedProject(victim, victimWs, "app");
    const theirs = await hookedProject(attacker, attackerWs, "app");
    const ours = await push(mine.id, mine.secret, { after: shaOf("a") });
    expect(ours.status, ours.text).toBe(202);
    const ourBuild = (ours.body as { buildId: string }).buildId;
    for (const c of ["b", "c", "d"]) expect((await push(theirs.id, theirs.secret, { after: shaOf(c) })).status).toBe(202);
    expect(await statusOf(victim, ourBuild)).toBe("queued");
  });

  it("their hook key on our project is refused and cancels nothing", async () => {
    const mine = await hookedProject(victim, victimWs);
    const theirs = await hookedProject(attacker, attackerWs);
    const ours = await push(mine.id, mine.secret, { after: shaOf("a") });
    const ourBuild = (ours.body as { buildId: string }).buildId;
    expect((await push(mine.id, theirs.secret, { after: shaOf("b") })).status).toBe(401);
    expect(await statusOf(victim, ourBuild)).toBe("queued");
  });

  it("an outsider cannot cancel by triggering on our project through the API", async () => {
    const mine = await hookedProject(victim, victimWs);
    const ours = await push(mine.id, mine.secret, { after: shaOf("a") });
    const ourBuild = (ours.body as { buildId: string }).buildId;
    const res = await call("POST", `/v1/projects/${mine.id}/builds`, { token: attacker.accessToken, body: { branch: "main", commitSha: shaOf("b") } });
    expect(res.status).toBe(404);
    expect(await statusOf(victim, ourBuild)).toBe("queued");
  });

  it("the group key always names the project, so equal branch names or pull request numbers never meet", () => {
    const a = crypto.randomUUID();
    const b = crypto.randomUUID();
    expect(supersedeKey({ projectId: a, branch: "main", pullRequest: null })).not.toBe(supersedeKey({ projectId: b, branch: "main", pullRequest: null }));
    expect(supersedeKey({ projectId: a, branch: "x", pullRequest: 7 })).not.toBe(supersedeKey({ projectId: b, branch: "x", pullRequest: 7 }));
    // A branch named like a pull request key is still a branch.
    expect(supersedeKey({ projectId: a, branch: "pr:7", pullRequest: null })).not.toBe(supersedeKey({ projectId: a, branch: "x", pullRequest: 7 }));
  });
});
