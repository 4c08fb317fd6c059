/**
 * `sparki detect` shows what a build will use, each value with its source: a field sparki.yml
 * sets has sparki.yml (only) as its evidence, and the pipeline settings say whether sparki.yml or
 * the default gave them.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { sparkiBin } from "../dev/bins.ts";

const FIXTURES = fileURLToPath(new URL("../core/detect/fixtures", import.meta.url));
let dir: string;
afterAll(() => rm(dir, { recursive: true, force: true }));

function sparki(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [sparkiBin, ...args], { timeout: 30_000 }, (err, stdout) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout }),
    );
  });
}

describe("sparki detect with a sparki.yml", () => {
  it("gives each value one source, the pipeline settings included", async () => {
    dir = await mkdtemp(join(tmpdir(), "sparki-sources-"));
    await cp(join(FIXTURES, "express"), dir, { recursive: true });
    await writeFile(join(dir, "sparki.yml"), "commands:\n  build: npm run compile\npipeline:\n  runnerLabels: [linux, gpu]\n  env:\n    FOO: bar\n");

    const json = await sparki(["detect", dir, "--json"]);
    expect(json.code).toBe(0);
    const evidence = (JSON.parse(json.stdout) as { evidence: Array<{ field: string; file: string | null; reason: string }> }).evidence;
    expect(evidence.filter((e) => e.field === "commands.build")).toEqual([
      { field: "commands.build", file: "sparki.yml", reason: "set in sparki.yml: npm run compile" },
    ]);

    const human = await sparki(["detect", dir]);
    expect(human.code).toBe(0);
    expect(human.stdout).not.toContain("no build script");
    expect(human.stdout).toMatch(/\npipeline\n {2}runner labels +linux, gpu {2}\(sparki\.yml\)\n/);
    expect(human.stdout).toMatch(/\n {2}branches +\* {2}\(default\)\n/);
    expect(human.stdout).toMatch(/\n {2}env +FOO=bar {2}\(sparki\.yml\)\n/);
    expect(human.stdout).toMatch(/\n {2}timeout +each stage's \(min: install 15, lint 15, test 30, build 30, deploy 30\) {2}\(default\)\n/);
  });
});
