/** `sparki hooks install` refuses, in one line and before asking the API anything, what it must not touch. */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sparkiBin } from "../../dev/bins.ts";

const run = promisify(execFile);
const bin = sparkiBin;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sparki-install-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI against a server that is not there: any API call would fail differently. */
async function install(repo: string): Promise<{ code: number; stderr: string }> {
  const env = { ...process.env, XDG_CONFIG_HOME: join(dir, "config"), SPARKI_URL: "http://127.0.0.1:9", SPARKI_TOKEN: "spk_none" };
  try {
    await run(process.execPath, [bin, "hooks", "install", "--project", crypto.randomUUID(), repo], { env });
    return { code: 0, stderr: "" };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe("sparki hooks install", () => {
  it("refuses a folder that is not a git repository, and a repository that is not bare", async () => {
    const plain = join(dir, "plain");
    mkdirSync(plain);
    const notRepo = await install(plain);
    expect(notRepo.code).toBe(1);
    expect(notRepo.stderr.trim().split("\n")).toHaveLength(1);
    expect(notRepo.stderr).toContain("is not a git repository");

    const work = join(dir, "work");
    await run("git", ["init", "--quiet", work]);
    const notBare = await install(work);
    expect(notBare.code).toBe(1);
    expect(notBare.stderr).toContain("is not a bare repository");
  });

  it("leaves a post-receive hook that is not Sparki's alone", async () => {
    const bare = join(dir, "bare.git");
    await run("git", ["init", "--quiet", "--bare", bare]);
    const theirs = "#!/bin/sh\necho their own hook\n";
    writeFileSync(join(bare, "hooks", "post-receive"), theirs);
    const res = await install(bare);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("exists and is not Sparki's");
    expect(readFileSync(join(bare, "hooks", "post-receive"), "utf8")).toBe(theirs);
  });
});
