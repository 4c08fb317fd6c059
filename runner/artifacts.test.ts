import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeControlPlane } from "./testing/fake-control-plane.ts";
import { createRepo, jobSpec, startAgent, type TestAgent } from "./testing/harness.ts";

let fake: FakeControlPlane;
let agent: TestAgent;
let repo: Awaited<ReturnType<typeof createRepo>>;

beforeEach(async () => {
  fake = await FakeControlPlane.start();
  repo = await createRepo([
    {
      "package.json": JSON.stringify({ name: "demo", scripts: { build: "node build.js", test: "node --test" } }),
      "package-lock.json": JSON.stringify({ name: "demo", lockfileVersion: 3, packages: {} }),
    },
  ]);
  agent = await startAgent(fake);
});

afterEach(async () => {
  await agent.stop();
  await fake.close();
  await repo.cleanup();
});

describe("artifacts", () => {
  it("uploads a file as it is and a directory as .tar.gz", async () => {
    const build = "mkdir -p dist/assets && echo '<h1>hi</h1>' > dist/index.html && echo 'console.log(1)' > dist/assets/app.js && printf 'ok 1\\n' > report.txt";
    const spec = jobSpec(repo.dir, repo.shas[0] as string, [{ id: "build", command: build }]);
    const id = fake.enqueue({
      ...spec,
      artifacts: [
        { name: "dist", path: "dist" },
        { name: "reports/report.txt", path: "report.txt" },
      ],
    });
    const job = await fake.waitFor(id, (j) => j.result !== null);
    expect(job.result).toMatchObject({ status: "succeeded", exitCode: 0 });
    expect(job.artifacts.get("reports/report.txt")).toEqual({ kind: "file", bytes: Buffer.from("ok 1\n") });
    const dist = job.artifacts.get("dist");
    expect(dist?.kind).toBe("directory");
    const out = await mkdtemp(join(tmpdir(), "sparki-untar-"));
    await writeFile(join(out, "dist.tgz"), dist?.bytes ?? Buffer.alloc(0));
    execFileSync("tar", ["-xzf", "dist.tgz"], { cwd: out });
    expect(await readFile(join(out, "index.html"), "utf8")).toBe("<h1>hi</h1>\n");
    expect(await readFile(join(out, "assets", "app.js"), "utf8")).toBe("console.log(1)\n");
    await rm(out, { recursive: true, force: true });
  });

  it("keeps the folder a build created as its output when nothing declared one, never one that was there before", async () => {
    const build = "mkdir -p build && echo '<h1>built</h1>' > build/index.html";
    const spec = jobSpec(repo.dir, repo.shas[0] as string, [
      { id: "install", command: "mkdir -p public && echo committed-like > public/robots.txt" },
      { id: "build", command: `${build} && echo again > public/again.txt` },
    ]);
    const id = fake.enqueue({ ...spec, env: { SPARKI_FIND_OUTPUT: "." } });
    const job = await fake.waitFor(id, (j) => j.result !== null);
    expect(job.result).toMatchObject({ status: "succeeded", exitCode: 0 });
    // public/ existed before the build step, so only build/ is the build's output.
    expect([...job.artifacts.keys()]).toEqual(["build"]);
    expect(fake.logText(id, ["sparki:artifacts"])).toContain("sparki: no output directory declared; build/ found after the build, kept as the build's output");
    const out = await mkdtemp(join(tmpdir(), "sparki-untar-"));
    await writeFile(join(out, "build.tgz"), job.artifacts.get("build")?.bytes ?? Buffer.alloc(0));
    execFileSync("tar", ["-xzf", "build.tgz"], { cwd: out });
    expect(await readFile(join(out, "index.html"), "utf8")).toBe("<h1>built</h1>\n");
    await rm(out, { recursive: true, force: true });
  });

  it("finds nothing to keep when the build fails, or when the job did not ask", async () => {
    const failing = jobSpec(repo.dir, repo.shas[0] as string, [{ id: "build", command: "mkdir -p dist && echo half > dist/x && exit 2" }]);
    const id = fake.enqueue({ ...failing, env: { SPARKI_FIND_OUTPUT: "." } });
    expect((await fake.waitFor(id, (j) => j.result !== null)).result).toMatchObject({ status: "failed", exitCode: 2 });
    expect(fake.job(id).artifacts.size).toBe(0);

    const unasked = jobSpec(repo.dir, repo.shas[0] as string, [{ id: "build", command: "mkdir -p dist && echo ok > dist/x" }]);
    const id2 = fake.enqueue(unasked);
    expect((await fake.waitFor(id2, (j) => j.result !== null)).result).toMatchObject({ status: "succeeded" });
    expect(fake.job(id2).artifacts.size).toBe(0);
  });

  it("refuses a path that leads outside the checkout through a symlink, and fails the job", async () => {
    const spec = jobSpec(repo.dir, repo.shas[0] as string, [{ id: "link", command: "ln -s /etc outside" }]);
    const id = fake.enqueue({ ...spec, artifacts: [{ name: "passwd", path: "outside/passwd" }] });
    const job = await fake.waitFor(id, (j) => j.result !== null);
    expect(job.result).toMatchObject({ status: "failed", error: "artifact passwd: outside/passwd leads outside the checkout" });
    expect(job.artifacts.size).toBe(0);
  });

  it("a missing artifact fails a successful job, but not one that already failed", async () => {
    const spec = jobSpec(repo.dir, repo.shas[0] as string, [{ id: "s", command: "true" }]);
    const id = fake.enqueue({ ...spec, artifacts: [{ name: "dist", path: "dist" }] });
    expect((await fake.waitFor(id, (j) => j.result !== null)).result).toMatchObject({ status: "failed", error: "artifact dist: dist does not exist" });
    const failing = jobSpec(repo.dir, repo.shas[0] as string, [{ id: "s", command: "exit 2" }]);
    const id2 = fake.enqueue({ ...failing, artifacts: [{ name: "dist", path: "dist" }] });
    expect((await fake.waitFor(id2, (j) => j.result !== null)).result).toMatchObject({ status: "failed", exitCode: 2 });
  });
});

describe("plan jobs", () => {
  it("detects the project in the checkout and uploads the pipeline", async () => {
    const id = fake.enqueue({ ...jobSpec(repo.dir, repo.shas[0] as string, []), kind: "plan" });
    const job = await fake.waitFor(id, (j) => j.result !== null);
    expect(job.result).toMatchObject({ status: "succeeded", exitCode: 0 });
    expect(job.pipeline?.jobs.length).toBeGreaterThan(0);
    expect(fake.logText(id, ["sparki:plan"])).toContain("uploaded a pipeline of");
  });
});
