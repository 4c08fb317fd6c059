/**
 * Dependency caches on the real local stack (wrangler with local R2, Postgres, a real runner
 * without a sandbox, its HOME a folder of this test's): an npm project with a package-lock built
 * twice restores the first build's ~/.npm on the second (log line, hit counter, not saved again);
 * then the entry's archive is cut in half in R2's files, and the next build warns, succeeds and
 * saves a good entry, which the build after it restores; and the same with an archive whose
 * bytes were changed but not its length (its SHA-256 no longer matches). That a pull request's build cannot
 * change the default branch's cache is proven on the same routes in
 * test/security/caches.workers.test.ts (the local stack has no GitHub to open a pull request).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, until } from "./support.js";

// A stack of its own: the test counts cache hits on /metrics and reads the stack's R2 files.
const e2e = new E2E({ ownStack: true });
let home: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "sparki-cache-home-"));
  await e2e.start();
  await e2e.runner("cache", { env: { HOME: home, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" } });
}, 180_000);

afterAll(async () => {
  await e2e.close();
  rmSync(home, { recursive: true, force: true });
}, 60_000);

/** Builds the project's main branch to success; returns its log. */
async function buildOnce(projectId: string): Promise<string> {
  const id = await e2e.trigger(projectId);
  const build = await e2e.waitForEnd(id);
  const log = (await e2e.bytes(`/v1/builds/${id}/logs.txt`)).body.toString();
  expect(build.status, `${log}\n${e2e.diagnostics()}`).toBe("succeeded");
  return log;
}

/** Every file of local R2's blobs that is a gzip stream: the stack stores no other .tar.gz here. */
function cacheBlobs(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (!path.includes(`${"/"}r2${"/"}`) || !path.includes("blobs")) continue;
    const head = readFileSync(path).subarray(0, 2);
    if (head[0] === 0x1f && head[1] === 0x8b) found.push(path);
  }
  return found;
}

/** The one cache archive in local R2 (a save replaces the entry and deletes the old archive). */
function onlyCacheBlob(): string {
  const blobs = cacheBlobs(e2e.work);
  expect(blobs).toHaveLength(1);
  return blobs[0] as string;
}

async function metric(name: string): Promise<number> {
  const res = await fetch(`${e2e.stack.apiUrl}/metrics`, { headers: { authorization: `Bearer ${e2e.stack.metricsToken}` } });
  const line = (await res.text()).split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

describe("dependency caches", () => {
  it("restores the npm cache on the second build, and survives a truncated entry", async () => {
    const repo = await e2e.gitRepo("cached", {
      "package.json": JSON.stringify({ name: "cached", version: "1.0.0", private: true }),
      "package-lock.json": JSON.stringify({
        name: "cached",
        version: "1.0.0",
        lockfileVersion: 3,
        requires: true,
        packages: { "": { name: "cached", version: "1.0.0" } },
      }),
    });
    const project = await e2e.project("cached", repo);

    const first = await buildOnce(project.id);
    expect(first).toMatch(/sparki: no cache for \S+\/deps-npm-[0-9a-f]{64}/);
    expect(first).toMatch(/sparki: saved cache \S+\/deps-npm-[0-9a-f]{64} \(to branch:main, [\d.]+ MiB\)/);

    const second = await buildOnce(project.id);
    expect(second).toMatch(/sparki: restored cache \S+\/deps-npm-[0-9a-f]{64} \(exact key, from branch:main, [\d.]+ MiB\) in [\d.]+ s/);
    expect(second).toMatch(/was restored on its exact key; not saved again/);
    await until("the cache hit on /metrics", async () => (await metric("sparki_build_cache_hits_total")) >= 1, 30_000, { intervalMs: 1000 });

    // Cut the stored archive in half where local R2 keeps it: the download ends early.
    truncateSync(onlyCacheBlob(), Math.floor(statSync(onlyCacheBlob()).size / 2));
    const third = await buildOnce(project.id);
    expect(third).toMatch(/sparki: warning: cache \S+ could not be downloaded \(.+\); continuing without it/);
    expect(third).toMatch(/sparki: saved cache \S+ \(to branch:main/);
    expect(await buildOnce(project.id)).toMatch(/sparki: restored cache \S+ \(exact key, from branch:main/);

    // Flip bytes of the new archive, keeping its length: its SHA-256 no longer matches.
    const blob = onlyCacheBlob();
    const bytes = readFileSync(blob);
    for (let i = 20; i < bytes.length; i += 7) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
    writeFileSync(blob, bytes);
    const fifth = await buildOnce(project.id);
    expect(fifth).toMatch(/sparki: warning: cache \S+ is corrupted or truncated \(\d+ of \d+ bytes, sha256 \w+, expected \w+\); continuing without it/);
    expect(fifth).toMatch(/sparki: saved cache \S+ \(to branch:main/);
  }, 300_000);
});
