/**
 * Zero configuration on a real project: the react-ts template of the `create-vite` npm package
 * (taken with `npm pack` from the registry at test time), committed into a local git repository
 * with no sparki.yml. The plan job detects it; a real runner runs the detected pipeline (npm
 * install from the registry, lint, npm run build); dist/ lands in R2 as a gzip tar holding
 * index.html; a WebSocket viewer connected from the start sees every line, live and in order;
 * the build ends succeeded. Built a second time, its install restores the first build's npm cache
 * (the log line and the hit counter).
 */
import { cpSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { list } from "tar";
import { commitAll, E2E, logBytes, until, run } from "./support.js";

const e2e = new E2E();

async function cacheHits(): Promise<number> {
  const res = await fetch(`${e2e.stack.apiUrl}/metrics`, { headers: { authorization: `Bearer ${e2e.stack.metricsToken}` } });
  const line = (await res.text()).split("\n").find((l) => l.startsWith("sparki_build_cache_hits_total "));
  return line ? Number(line.split(" ")[1]) : 0;
}

beforeAll(async () => {
  await e2e.start();
  // Sandboxed, as runners are by default: its steps' ~/.npm is the job's own, so the cache saved
  // and restored is this project's, not the npm cache of whoever runs the tests.
  await e2e.runner("vite-runner", { sandbox: true });
}, 180_000);

afterAll(() => e2e.close(), 60_000);

describe("the create-vite react-ts template, with no sparki.yml", () => {
  it("is detected, installed from the registry, linted and built by a real runner; dist/ lands in R2; a viewer sees every line", async () => {
    const pack = join(e2e.work, "pack");
    mkdirSync(pack);
    const packed = await run("npm", ["pack", "create-vite", "--json", "--pack-destination", pack], { cwd: pack, timeout: 120_000 });
    const [info] = JSON.parse(packed.stdout) as { filename: string; version: string }[];
    if (!info) throw new Error(`npm pack printed no file: ${packed.stdout}`);
    await run("tar", ["-xzf", join(pack, info.filename), "-C", pack]);
    const template = join(pack, "package", "template-react-ts");
    expect(existsSync(join(template, "package.json"))).toBe(true);

    // What `npm create vite` would write: the template, with its _gitignore renamed.
    const repo = join(e2e.work, "repos", "vite-react-ts");
    cpSync(template, repo, { recursive: true });
    if (existsSync(join(repo, "_gitignore"))) renameSync(join(repo, "_gitignore"), join(repo, ".gitignore"));
    expect(existsSync(join(repo, "sparki.yml"))).toBe(false);
    writeFileSync(join(repo, "README.md"), `# vite-react-ts\n\nFrom create-vite ${info.version}.\n`);
    await commitAll(repo);

    const project = await e2e.project("vite-react-ts", repo);
    const buildId = await e2e.trigger(project.id);
    const viewer = e2e.viewer(buildId);
    await viewer.opened;

    const done = await e2e.waitForEnd(buildId, 240_000);
    if (done.status !== "succeeded")
      console.log(JSON.stringify(done, null, 1), (await e2e.bytes(`/v1/builds/${buildId}/logs.txt`)).body.toString().slice(-5000));
    expect(done.status, e2e.diagnostics()).toBe("succeeded");
    expect(done.commitSha).toMatch(/^[0-9a-f]{40}$/);
    // The detected pipeline: plan, then install, lint and build (on one runner, lint and build run in
    // the install job's folder and skip their install).
    expect(done.jobs.map((j: any) => [j.kind, j.name, j.status])).toEqual([
      ["plan", "plan", "succeeded"],
      ["steps", "install", "succeeded"],
      ["steps", "lint", "succeeded"],
      ["steps", "build", "succeeded"],
    ]);
    const buildJob = done.jobs[3];
    expect(buildJob.steps.map((s: any) => [s.id, s.status, s.exitCode])).toEqual([
      ["install", "skipped", null],
      ["build", "succeeded", 0],
    ]);
    const pipeline = (await e2e.api("GET", `/v1/projects/${project.id}/pipeline`)).body;
    expect(pipeline).toMatchObject({ version: 1, source: "upload" });

    // dist/ in R2, as a gzip tar with index.html at its root.
    const artifacts = (await e2e.api("GET", `/v1/builds/${buildId}/artifacts`)).body.items;
    expect(artifacts.map((a: any) => a.name)).toEqual(["dist"]);
    const dist = await e2e.bytes(`/v1/builds/${buildId}/artifacts/dist`);
    expect(dist.status).toBe(200);
    expect(dist.headers.get("content-type")).toBe("application/gzip");
    expect(dist.body.length).toBe(artifacts[0].size);
    expect([...dist.body.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    gunzipSync(dist.body); // a whole gzip stream, not just its magic
    const tarball = join(e2e.work, "dist.tar.gz");
    writeFileSync(tarball, dist.body);
    const entries: string[] = [];
    await list({ file: tarball, onReadEntry: (entry) => void entries.push(entry.path) });
    const files = entries.map((p) => p.replace(/^\.\//, ""));
    expect(files).toContain("index.html");
    expect(
      files.some((f) => /^assets\/index-[\w-]+\.js$/.test(f)),
      files.join(", "),
    ).toBe(true);

    // The viewer, connected before the first line, saw every line once, in order, as it came.
    await until("the viewer to get the final status", () => viewer.statuses.includes("succeeded"), 10_000, {
      diagnostics: () =>
        `viewer: statuses ${JSON.stringify(viewer.statuses)}, ${viewer.lines.length} lines, closed ${JSON.stringify(viewer.closed)}\n${e2e.diagnostics()}`,
    });
    viewer.close();
    const text = (await e2e.bytes(`/v1/builds/${buildId}/logs.txt`)).body;
    expect(viewer.lines.length).toBeGreaterThan(20);
    expect(viewer.lines.map((l) => l.seq)).toEqual(viewer.lines.map((_, i) => i + 1));
    expect(logBytes(viewer.lines).equals(text)).toBe(true);
    expect(viewer.arrivals[0]!).toBeLessThan(Date.parse(done.completedAt));
    const jobOrder = viewer.lines.map((l) => l.jobId).filter((id, i, all) => i === 0 || all[i - 1] !== id);
    expect(jobOrder).toEqual(done.jobs.map((j: any) => j.id));
    const log = text.toString("utf8");
    expect(log).toMatch(/^detected vite/m);
    expect(log).toMatch(/no sparki\.yml/);
    expect(log).toMatch(/^added \d+ packages/m);
    expect(log).toMatch(/Found 0 warnings and 0 errors/);
    expect(log).toMatch(/dist\/index\.html/);
    expect(log).toMatch(/built in/);
    console.log(
      `create-vite ${info.version}: ${viewer.lines.length} log lines; build took ${((Date.parse(done.completedAt) - Date.parse(done.startedAt)) / 1000).toFixed(1)} s`,
    );

    // Built again: the install restores the first build's npm cache, says so, and /metrics counts
    // the hit. (How much faster that install is, bench/cache measures.)
    const hitsBefore = await cacheHits();
    const again = await e2e.trigger(project.id);
    const second = await e2e.waitForEnd(again, 240_000);
    expect(second.status, e2e.diagnostics()).toBe("succeeded");
    const secondLog = (await e2e.bytes(`/v1/builds/${again}/logs.txt`)).body.toString("utf8");
    // On a miss, what the first build said of its save is where to look.
    const firstBuildCacheLines = log.split("\n").filter((line) => line.startsWith("sparki:"));
    expect(secondLog, `the first build's sparki: lines:\n${firstBuildCacheLines.join("\n")}\n${e2e.diagnostics()}`).toMatch(
      /sparki: restored cache \S+\/deps-npm-\S+ \(exact key, from branch:main, [\d.]+ MiB\) in [\d.]+ s/,
    );
    await until("the second build's cache hit on /metrics", async () => (await cacheHits()) > hitsBefore, 30_000, { intervalMs: 1000 });
  }, 540_000);
});
