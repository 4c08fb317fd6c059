/**
 * `sparki run` on fixtures, through the real (bundled) CLI: the pipeline runs here with the
 * runner's step code, in a copy of the project, sandboxed where bubblewrap works; the exit code
 * is the build's.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sparkiBin } from "../dev/bins.ts";

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sparki(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [sparkiBin, ...args], { cwd: tmpdir(), timeout: 60_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A project folder with these files. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sparki-run-fixture-"));
  temps.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** sparki.yml with a test and a build command (the build job needs the test job). */
const yml = (test: string, build: string) =>
  `language: javascript\ncommands:\n  install: null\n  lint: null\n  test: ${JSON.stringify(test)}\n  build: ${JSON.stringify(build)}\noutputDir: null\n`;
const pkg = JSON.stringify({ name: "fixture", version: "1.0.0" });

describe("sparki run", () => {
  it("runs the pipeline in a copy of the project, with the runner's environment and masking, and exits 0", async () => {
    const dir = await project({
      "package.json": pkg,
      "sparki.yml": yml("echo tested > marker && cat marker", 'echo "ci=$CI job=$SPARKI_JOB_ID step=$SPARKI_STEP_ID token=$DEPLOY_TOKEN"; pwd'),
    });
    const run = await sparki(["run", dir, "--secret", "DEPLOY_TOKEN"], { DEPLOY_TOKEN: "s3cr3t-value" });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("\ntested\n");
    expect(run.stdout).toContain("ci=true job=build step=build token=***\n");
    expect(run.stdout).not.toContain("s3cr3t-value");
    expect(run.stdout).toContain("sparki: test succeeded, build succeeded\n");
    // The steps ran in a job folder with no dot segment, not in the project itself.
    const cwd = run.stdout.split("\n").find((line) => line.endsWith("/src") && line.startsWith("/"));
    expect(cwd?.split("/").filter((s) => s.startsWith("."))).toEqual([]);
    expect(cwd?.startsWith(dir)).toBe(false);
    expect(await readdir(dir)).not.toContain("marker");
  });

  it("exits with the failing step's code and skips the jobs that need it", async () => {
    const dir = await project({ "package.json": pkg, "sparki.yml": yml("echo testing; exit 3", "echo built") });
    const run = await sparki(["run", dir]);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain("sparki: step test failed with exit code 3\n");
    expect(run.stdout).toContain("sparki: test failed (exit code 3), build skipped (needs test)\n");
    expect(run.stdout).not.toContain("\nbuilt\n");
  });

  it("--job runs one job alone, and names the jobs when asked for one that does not exist", async () => {
    const dir = await project({ "package.json": pkg, "sparki.yml": yml("exit 3", "echo built") });
    const one = await sparki(["run", dir, "--job", "build", "--no-sandbox"]);
    expect(one.code, one.stdout + one.stderr).toBe(0);
    expect(one.stdout).toContain("\nbuilt\n");
    expect(one.stdout).toContain("sparki: build succeeded\n");
    const missing = await sparki(["run", dir, "--job", "deploy-all"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('sparki: no job "deploy-all" in this project\'s pipeline; its jobs: test, build\n');
  });

  it("fails with the detector's reason when there is nothing to run", async () => {
    const dir = await project({ "package.json": '{"name": "broken",\n' });
    const run = await sparki(["run", dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^sparki: nothing to run: package\.json is not valid JSON \(.+\); fix it so Sparki can read it\n$/);
  });
});
