/**
 * Attacks on dependency caches through the runner's job routes: reading another project's (and
 * workspace's) entry, a pull request's job writing where the default branch reads, an upload over
 * CACHE_ENTRY_MAX_MIB (1.5 MiB in the test config), keys that try to reach a path, and another
 * job's token. The runner's side (paths kept in home or the checkout, hostile archives) is in
 * test/security/cache-archives.test.ts.
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../core/contracts/runner.ts";
import { connect, type Db } from "../../server/db/client.js";
import { builds } from "../../server/db/schema.js";
import { call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../../workers/testing/api.js";
import { bytes, downloadCache, lookupCache, saveCache, sha256 } from "../../workers/testing/caches.js";
import { claimFor, registerRunner } from "../../workers/testing/runner.js";

let db: Db;
let close: () => Promise<void>;
let owner: TestUser;
let rival: TestUser;
let workspaceId: string;
let rivalWorkspaceId: string;
let runnerToken: string;
beforeAll(async () => {
  ({ db, close } = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY));
  owner = await signup("caches-attack");
  rival = await signup("caches-rival");
  workspaceId = (await createWorkspace(owner, "Caches")).id;
  rivalWorkspaceId = (await createWorkspace(rival, "Rival")).id;
  runnerToken = await registerRunner();
});
afterAll(() => close());

async function heldJob(user: TestUser, projectId: string, opts: { branch?: string; pullRequest?: number; baseBranch?: string } = {}): Promise<Job> {
  const build = await call("POST", `/v1/projects/${projectId}/builds`, {
    token: user.accessToken,
    body: { branch: opts.branch ?? "main", commitSha: "a".repeat(40) },
  });
  expect(build.status, build.text).toBe(201);
  // A GitHub pull request's build, as the App's delivery records it (server/github-app/deliver.ts).
  if (opts.pullRequest) {
    await db
      .update(builds)
      .set({ pullRequest: opts.pullRequest, baseBranch: opts.baseBranch ?? "main" })
      .where(eq(builds.id, build.body.id));
  }
  return claimFor(runnerToken, build.body.id, "plan");
}

const problemOf = async (res: Response) => {
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
};

describe("cache routes under attack", () => {
  it("never serves another workspace's project its entries, by key or by id", async () => {
    const project = await createProject(owner, workspaceId);
    const rivalProject = await createProject(rival, rivalWorkspaceId);
    const mine = await heldJob(owner, project.id);
    const data = bytes(1024);
    const saved = (await (await saveCache(mine, "secret-key", data, data.byteLength)).json()) as { id: string };

    const theirs = await heldJob(rival, rivalProject.id);
    expect((await lookupCache(theirs, "secret-key", ["secret"])).body.entry).toBeNull();
    expectProblem(await problemOf(await downloadCache(theirs, saved.id)), 404, "not_found");
    // Not a uuid, or a path: still only "no such entry".
    expectProblem(await problemOf(await downloadCache(theirs, "..%2F..%2Fsecret")), 404, "not_found");
  });

  it("lets a pull request read its base's cache but never write where the default branch reads", async () => {
    const project = await createProject(owner, workspaceId);
    const main = await heldJob(owner, project.id);
    const good = bytes(1024, 1);
    expect((await saveCache(main, "deps", good, good.byteLength)).status).toBe(201);

    const pr = await heldJob(owner, project.id, { branch: "main", pullRequest: 7 });
    const seen = await lookupCache(pr, "deps");
    expect(seen.body).toMatchObject({ exact: true, writeScope: "pr:7", entry: { scope: "branch:main" } });
    const poison = bytes(1024, 2);
    const refused = await saveCache(pr, "deps", poison, poison.byteLength, { "sparki-cache-scope": "branch:main" });
    expectProblem(await problemOf(refused), 403, "forbidden");
    // Without naming a scope the save lands in the pull request's own.
    const own = await saveCache(pr, "deps", poison, poison.byteLength);
    expect(((await own.json()) as { scope: string }).scope).toBe("pr:7");

    const after = await heldJob(owner, project.id);
    const found = await lookupCache(after, "deps");
    // The expected digest from the bytes, not from another lookup by the first job.
    expect(found.body.entry).toMatchObject({ scope: "branch:main", sha256: await sha256(good) });
    const res = await downloadCache(after, found.body.entry?.id ?? "");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(good);
  });

  it("lets a pull request into another base branch read that branch first, and write neither", async () => {
    const project = await createProject(owner, workspaceId);
    for (const branch of ["main", "release"]) {
      const job = await heldJob(owner, project.id, { branch });
      const data = bytes(1024, branch.length);
      expect((await saveCache(job, "deps", data, data.byteLength)).status).toBe(201);
    }
    const pr = await heldJob(owner, project.id, { branch: "fix", pullRequest: 9, baseBranch: "release" });
    expect((await lookupCache(pr, "deps")).body).toMatchObject({ writeScope: "pr:9", entry: { scope: "branch:release" } });
    for (const scope of ["branch:release", "branch:main"]) {
      const data = bytes(1024, 9);
      expectProblem(await problemOf(await saveCache(pr, "deps", data, data.byteLength, { "sparki-cache-scope": scope })), 403, "forbidden");
    }
  });

  it("refuses an upload over CACHE_ENTRY_MAX_MIB before storing anything", async () => {
    const project = await createProject(owner, workspaceId);
    const job = await heldJob(owner, project.id);
    const size = 2 * 1024 * 1024;
    const res = await saveCache(job, "huge", bytes(size), size);
    const problem = await problemOf(res);
    expectProblem(problem, 413, "payload_too_large");
    expect(problem.text).toContain("CACHE_ENTRY_MAX_MIB");
    expect((await lookupCache(job, "huge")).body.entry).toBeNull();
    expect((await env.ARTIFACTS.list({ prefix: `projects/${project.id}/caches/` })).objects).toEqual([]);
  });

  it("refuses keys that are not keys", async () => {
    const project = await createProject(owner, workspaceId);
    const job = await heldJob(owner, project.id);
    for (const key of ["../../etc/passwd", "/abs", "a\\b", "a b", "x".repeat(513)]) {
      expectProblem(await lookupCache(job, key), 400, "validation");
      const data = bytes(16);
      expectProblem(await problemOf(await saveCache(job, key, data, data.byteLength)), 400, "validation");
    }
  });

  it("takes only the job's own token", async () => {
    const project = await createProject(owner, workspaceId);
    const job = await heldJob(owner, project.id);
    const other = await heldJob(owner, project.id);
    const stolen = { ...job, jobToken: other.jobToken };
    expectProblem(await lookupCache(stolen, "deps"), 401);
    const data = bytes(16);
    expectProblem(await problemOf(await saveCache(stolen, "deps", data, data.byteLength)), 401);
    expectProblem(await problemOf(await downloadCache(stolen, crypto.randomUUID())), 401);
  });
});
