/**
 * Dependency cache routes on a job's token: a miss, a save, the exact key and a restore prefix
 * found again, the archive streamed back byte for byte, scopes (branch, then the default branch),
 * least-recently-used eviction under CACHE_PROJECT_MAX_MIB (2.5 MiB in the test config) and the
 * metrics. Attacks are in test/security/caches.workers.test.ts.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../core/contracts/runner.ts";
import { until } from "../../test/until.ts";
import { call, createProject, createWorkspace, signup, type TestUser } from "../testing/api.js";
import { bytes, downloadCache, lookupCache, saveCache, sha256 } from "../testing/caches.js";
import { lease } from "../testing/runner.js";
import { claimFor, registerRunner } from "../testing/runner.js";

let owner: TestUser;
let workspaceId: string;
let runnerToken: string;
beforeAll(async () => {
  owner = await signup("caches");
  workspaceId = (await createWorkspace(owner)).id;
  runnerToken = await registerRunner();
});

/** A held job of a new build of `branch` in the project. */
async function heldJob(projectId: string, branch = "main"): Promise<Job> {
  const build = await call("POST", `/v1/projects/${projectId}/builds`, { token: owner.accessToken, body: { branch, commitSha: "a".repeat(40) } });
  expect(build.status, build.text).toBe(201);
  return claimFor(runnerToken, build.body.id, "plan");
}

const KiB = 1024;

describe("dependency cache routes", () => {
  it("misses, saves, then finds the exact key and the archive byte for byte", async () => {
    const project = await createProject(owner, workspaceId);
    const first = await heldJob(project.id);
    const key = "linux-x64-node22/deps-npm-aaa";
    const miss = await lookupCache(first, key, ["linux-x64-node22/deps-npm-"]);
    expect(miss.status, miss.text).toBe(200);
    expect(miss.body).toEqual({ entry: null, exact: false, writeScope: "branch:main" });

    const data = bytes(300 * KiB);
    const saved = await saveCache(first, key, data, data.byteLength);
    expect(saved.status, await saved.clone().text()).toBe(201);
    const entry = (await saved.json()) as { id: string; scope: string; size: number; sha256: string };
    expect(entry).toMatchObject({ key, scope: "branch:main", size: data.byteLength, sha256: await sha256(data) });
    expect(await env.ARTIFACTS.head(`projects/${project.id}/caches/${entry.id}.tar.gz`)).not.toBeNull();

    const second = await heldJob(project.id);
    const hit = await lookupCache(second, key, ["linux-x64-node22/deps-npm-"]);
    expect(hit.body).toMatchObject({ exact: true, entry: { id: entry.id, key } });
    const res = await downloadCache(second, entry.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("sparki-cache-sha256")).toBe(entry.sha256);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
  });

  it("falls back to the newest entry of a restore prefix, and from a branch to the default branch", async () => {
    const project = await createProject(owner, workspaceId);
    const main = await heldJob(project.id);
    for (const [key, seed] of [
      ["linux-x64-node22/deps-npm-old", 1],
      ["linux-x64-node22/deps-npm-new", 2],
      ["linux-x64-node20/deps-npm-other", 3],
    ] as const) {
      const data = bytes(KiB, seed);
      expect((await saveCache(main, key, data, data.byteLength)).status).toBe(201);
    }
    // A feature branch has nothing of its own yet: the default branch's newest entry of the prefix.
    const feature = await heldJob(project.id, "feature/x");
    const found = await lookupCache(feature, "linux-x64-node22/deps-npm-changed", ["linux-x64-node22/deps-npm-"]);
    expect(found.body).toMatchObject({ exact: false, writeScope: "branch:feature/x", entry: { key: "linux-x64-node22/deps-npm-new", scope: "branch:main" } });
    // `_` in a prefix is not a LIKE wildcard.
    expect((await lookupCache(feature, "x", ["linux_x64"])).body.entry).toBeNull();

    // Its own save is in its own scope, and is preferred over the default branch's from then on.
    const data = bytes(KiB, 4);
    expect((await saveCache(feature, "linux-x64-node22/deps-npm-changed", data, data.byteLength)).status).toBe(201);
    const again = await heldJob(project.id, "feature/x");
    expect((await lookupCache(again, "linux-x64-node22/deps-npm-zzz", ["linux-x64-node22/deps-npm-"])).body.entry).toMatchObject({
      scope: "branch:feature/x",
      key: "linux-x64-node22/deps-npm-changed",
    });
    // The default branch never sees the feature branch's entry.
    const later = await heldJob(project.id);
    expect((await lookupCache(later, "linux-x64-node22/deps-npm-changed")).body.entry).toBeNull();
  });

  it("evicts the least recently used entries past the project's cap", async () => {
    const project = await createProject(owner, workspaceId);
    const job = await heldJob(project.id);
    const ids: string[] = [];
    for (const seed of [1, 2]) {
      const data = bytes(1024 * KiB, seed);
      const res = await saveCache(job, `k${seed}`, data, data.byteLength);
      ids.push(((await res.json()) as { id: string }).id);
    }
    // k1 is used again, so k2 is now the least recently used.
    expect((await lookupCache(job, "k1")).body.entry?.id).toBe(ids[0]);
    const data = bytes(1024 * KiB, 3);
    expect((await saveCache(job, "k3", data, data.byteLength)).status).toBe(201);
    expect((await lookupCache(job, "k2")).body.entry).toBeNull();
    expect((await lookupCache(job, "k1")).body.entry?.id).toBe(ids[0]);
    expect(await env.ARTIFACTS.head(`projects/${project.id}/caches/${ids[1]}.tar.gz`)).toBeNull();
  });

  it("replaces an entry saved again under the same key", async () => {
    const project = await createProject(owner, workspaceId);
    const job = await heldJob(project.id);
    const first = bytes(KiB, 1);
    const old = (await (await saveCache(job, "same", first, first.byteLength)).json()) as { id: string };
    const second = bytes(KiB, 2);
    expect((await saveCache(job, "same", second, second.byteLength)).status).toBe(201);
    const found = await lookupCache(job, "same");
    expect(found.body.entry?.sha256).toBe(await sha256(second));
    expect(await env.ARTIFACTS.head(`projects/${project.id}/caches/${old.id}.tar.gz`)).toBeNull();
  });

  it("counts hits, misses and bytes on /metrics", async () => {
    const project = await createProject(owner, workspaceId);
    const job = await heldJob(project.id);
    await lookupCache(job, "nothing-here");
    await until(
      "cache metrics",
      async () => {
        const res = await SELF.fetch("http://sparki.test/metrics", { headers: { authorization: "Bearer metrics-token-for-tests" } });
        const text = await res.text();
        return /sparki_build_cache_misses_total [1-9]/.test(text) && /sparki_build_cache_saved_bytes_total [1-9]/.test(text) && text;
      },
      15_000,
      { intervalMs: 1000 },
    );
  });

  it("records an archive uploaded straight to R2 once the stored object proves to be the job's", async () => {
    const project = await createProject(owner, workspaceId);
    const job = await heldJob(project.id);
    const data = bytes(4 * KiB, 5);
    const digest = await sha256(data);
    const body = { ...lease(job), key: "direct", size: data.byteLength, sha256: digest };
    // No S3 credentials here: the runner is told to stream through the Worker instead.
    const reserved = await call("POST", `/v1/runner/jobs/${job.jobId}/caches/reserve`, { token: job.jobToken, body });
    expect(reserved.status, reserved.text).toBe(200);
    expect(reserved.body).toMatchObject({ uploadUrl: null, headers: {} });
    const entryId = reserved.body.entryId as string;
    const commit = (extra: Record<string, unknown> = {}, as: Job = job) =>
      call("POST", `/v1/runner/jobs/${as.jobId}/caches/commit`, { token: as.jobToken, body: { ...body, ...lease(as), entryId, ...extra } });
    // Nothing uploaded yet.
    expect((await commit()).status).toBe(404);
    // What a presigned PUT stores: the signed metadata names the job and the key.
    await env.ARTIFACTS.put(`projects/${project.id}/caches/${entryId}.tar.gz`, data, { customMetadata: { jobid: job.jobId, cachekey: "direct" } });
    expect((await commit({ size: data.byteLength + 1 })).status).toBe(404);
    expect((await commit({ key: "another" })).status).toBe(404);
    const other = await heldJob(project.id);
    expect((await commit({}, other)).status).toBe(404);

    const saved = await commit();
    expect(saved.status, saved.text).toBe(201);
    expect(saved.body).toMatchObject({ id: entryId, key: "direct", scope: "branch:main", size: data.byteLength, sha256: digest });
    // Once recorded, the same upload cannot be recorded again (under another key or scope).
    expect((await commit()).status).toBe(404);
    const found = await lookupCache(other, "direct");
    expect(found.body.entry?.id).toBe(entryId);
    expect(new Uint8Array(await (await downloadCache(other, entryId)).arrayBuffer())).toEqual(data);
  });

  it("refuses to reserve an entry over CACHE_ENTRY_MAX_MIB", async () => {
    const project = await createProject(owner, workspaceId);
    const job = await heldJob(project.id);
    const res = await call("POST", `/v1/runner/jobs/${job.jobId}/caches/reserve`, {
      token: job.jobToken,
      body: { ...lease(job), key: "big", size: 2 * 1024 * KiB, sha256: "0".repeat(64) },
    });
    expect(res.status).toBe(413);
  });
});
