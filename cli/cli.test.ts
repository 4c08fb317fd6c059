import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { sparkiBin } from "../dev/bins.ts";

const BIN = sparkiBin;
const FIXTURES = fileURLToPath(new URL("../core/detect/fixtures", import.meta.url));
const EXPECTED = fileURLToPath(new URL("../core/detect/expected", import.meta.url));
const temps: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawns the real CLI the way a user would, from `cwd`. */
function sparki(args: string[], cwd = tmpdir()): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function tempCopy(fixture: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sparki-cli-"));
  temps.push(dir);
  if (fixture) await cp(join(FIXTURES, fixture), dir, { recursive: true });
  return dir;
}

afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

describe("sparki detect", () => {
  it("--json prints exactly one JSON object equal to the expected detection, for every fixture", async () => {
    const names = (await readdir(FIXTURES)).sort();
    const failures: string[] = [];
    // A few at a time: each run starts Node and tsx.
    for (let i = 0; i < names.length; i += 6) {
      await Promise.all(
        names.slice(i, i + 6).map(async (name) => {
          const run = await sparki(["detect", join(FIXTURES, name), "--json"]);
          const expected: unknown = JSON.parse(await readFile(join(EXPECTED, `${name}.json`), "utf8"));
          try {
            expect(run.code).toBe(0);
            expect(run.stderr).toBe("");
            expect(JSON.parse(run.stdout)).toEqual(expected);
          } catch {
            failures.push(`${name}: exit ${run.code} ${run.stderr.slice(0, 200)}`);
          }
        }),
      );
    }
    expect(failures).toEqual([]);
  }, 240_000);

  it("accepts a path relative to the working directory and has the documented keys", async () => {
    const run = await sparki(["detect", "nextjs", "--json"], FIXTURES);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      language: "typescript",
      framework: "nextjs",
      packageManager: "npm",
      commands: { install: "npm ci", build: "npm run build", test: null, start: "npm run start" },
      outputDir: ".next",
      apps: [],
    });
  });

  it("reports an empty folder with null fields and a reason", async () => {
    const run = await sparki(["detect", await tempCopy(""), "--json"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ framework: null, language: null, outputDir: null, apps: [], reason: "the repository is empty" });
  });

  it("prints a readable report with evidence", async () => {
    const run = await sparki(["detect", join(FIXTURES, "turborepo")]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("framework        turborepo  (confidence 0.95)");
    expect(run.stdout).toContain("turbo.json: turbo.json: Turborepo drives the workspace");
    expect(run.stdout).toContain("apps (2)");
    expect(run.stdout).toContain("apps/web  (web)");
  });

  it("applies sparki.yml's overrides, as the build will, and says so", async () => {
    const dir = await tempCopy("express");
    await writeFile(join(dir, "sparki.yml"), "commands:\n  build: npm run compile\n  test: null\noutputDir: public\n");
    const json = await sparki(["detect", dir, "--json"]);
    expect(json).toMatchObject({ code: 0, stderr: "" });
    const result = JSON.parse(json.stdout) as {
      commands: Record<string, string | null>;
      outputDir: string | null;
      evidence: Array<{ field: string; file: string | null; reason: string }>;
    };
    expect(result.commands).toMatchObject({ build: "npm run compile", test: null });
    expect(result.outputDir).toBe("public");
    expect(result.evidence).toContainEqual({ field: "commands.build", file: "sparki.yml", reason: "set in sparki.yml: npm run compile" });

    const human = await sparki(["detect", dir]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("sparki.yml overrides commands.test, commands.build, outputDir; the rest is detected");
    expect(human.stdout).toMatch(/build\s+npm run compile/);
  });

  it("points at a sparki.yml error instead of reporting what the build would not use", async () => {
    const dir = await tempCopy("express");
    await writeFile(join(dir, "sparki.yml"), "commands:\n  build: [1, 2]\n");
    const run = await sparki(["detect", dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/sparki\.yml:2:\d+: /);
  });

  it("fails with one line on stderr for a missing directory or a file", async () => {
    for (const target of [join(tmpdir(), "sparki-does-not-exist"), BIN]) {
      const run = await sparki(["detect", target, "--json"]);
      expect(run.code).not.toBe(0);
      expect(run.stdout).toBe("");
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toMatch(/^sparki: (no such directory|not a directory): /);
    }
  });
});

describe("sparki init", () => {
  it("writes sparki.yml from the detection, then refuses to overwrite it", async () => {
    const dir = await tempCopy("django");
    const first = await sparki(["init", dir]);
    expect(first).toMatchObject({ code: 0, stderr: "" });
    const written = await readFile(join(dir, "sparki.yml"), "utf8");
    expect(written).toContain("framework: django");
    expect(written).toContain("start: gunicorn mysite.wsgi");

    const second = await sparki(["init", dir]);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/sparki\.yml already exists/);
    expect(await readFile(join(dir, "sparki.yml"), "utf8")).toBe(written);

    // The written file round-trips: the pipeline built from it runs the detected commands.
    const pipeline = await sparki(["pipeline", dir, "--json"]);
    expect(pipeline.code).toBe(0);
    const jobs = (JSON.parse(pipeline.stdout) as { jobs: Array<{ id: string }> }).jobs.map((j) => j.id);
    expect(jobs).toEqual(["install", "test", "build"]);
  });
});

describe("sparki pipeline", () => {
  it("shows each job's values with their sources, sparki.yml's overrides named as such", async () => {
    const dir = await tempCopy("express");
    await writeFile(
      join(dir, "sparki.yml"),
      "framework: express\ncommands:\n  test: npm run test:ci\npipeline:\n  timeoutMinutes: 12\n  env:\n    LOG_LEVEL: debug\n",
    );
    await writeFile(join(dir, ".nvmrc"), "20\n");
    const run = await sparki(["pipeline", dir]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const job = (id: string): string => run.stdout.split("\n\n").find((block) => block.startsWith(`${id}  (`)) ?? "";
    expect(job("install")).toMatch(/step install +npm ci {2}← package-lock\.json: /);
    expect(job("install")).toMatch(/cache +deps-npm-[0-9a-f]{64} {2}← hash of package-lock\.json/);
    expect(job("test")).toMatch(/step test +npm run test:ci {2}← set in sparki\.yml/);
    expect(job("test")).toMatch(/timeout +12 min {2}← sparki\.yml pipeline\.timeoutMinutes/);
    expect(job("test")).toMatch(/env +LOG_LEVEL=debug {2}← sparki\.yml pipeline\.env/);
    expect(job("test")).toMatch(/runs on +linux {2}← default/);
    expect(job("test")).toMatch(/runtime +node 20 \(needs a runner with node-20\) {2}← \.nvmrc: /);

    // --json is the pipeline itself, as the build stores it.
    const json = await sparki(["pipeline", dir, "--json"]);
    const pipeline = JSON.parse(json.stdout) as { jobs: Array<{ id: string; steps: Array<{ run: string }> }> };
    expect(pipeline.jobs.find((j) => j.id === "test")?.steps.at(-1)?.run).toBe("npm run test:ci");
  });

  it("points at the line and column of a sparki.yml error", async () => {
    const dir = await tempCopy("express");
    await writeFile(join(dir, "sparki.yml"), "framework: express\npipeline:\n  timeoutMinutes: forever\n");
    const run = await sparki(["pipeline", dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/sparki\.yml:3:19: .*\(pipeline\.timeoutMinutes\)/);
  });
});
