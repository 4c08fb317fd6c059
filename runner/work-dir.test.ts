/**
 * Jobs never run under a path with a segment beginning with a dot: test suites refuse such paths
 * (expressjs/express's 55 static-file tests fail under `.sparki/runner-work`).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultWorkDir } from "./config.ts";
import { dotSegment, scratchRoot } from "../node/paths.ts";
import { runnerBundleBin } from "../dev/bins.ts";

const run = promisify(execFile);
let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "sparki-work-dir-"));
});
afterEach(() => rm(home, { recursive: true, force: true }));

describe("dotSegment", () => {
  it("finds the first segment beginning with a dot, and none in a plain path", () => {
    expect(dotSegment("/home/me/.sparki/runner-work/job-1")).toBe(".sparki");
    expect(dotSegment("/home/me/project/.cache/x")).toBe(".cache");
    expect(dotSegment("/home/me/project/../work")).toBeNull();
    expect(dotSegment("/tmp/sparki-runner-1000/job-a.b/src")).toBeNull();
  });
});

describe("defaultWorkDir", () => {
  it("is beside a plain config, and a plain folder of its own under the scratch root beside a dotted one", () => {
    expect(defaultWorkDir("/srv/sparki-runner/config.json")).toBe("/srv/sparki-runner/work");
    const dotted = defaultWorkDir("/home/me/.sparki-runner/config.json");
    expect(dotSegment(dotted)).toBeNull();
    expect(dotted.startsWith(`${scratchRoot()}/sparki-runner-`)).toBe(true);
    expect(defaultWorkDir("/home/you/.sparki-runner/config.json")).not.toBe(dotted);
    expect(defaultWorkDir("/home/me/.sparki-runner/config.json")).toBe(dotted);
  });
});

/** `sparki-runner run` with the connection settings from flags (no file needed) and `extra`. */
function runner(extra: string[], env: NodeJS.ProcessEnv = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^SPARKI_(URL|RUNNER_)/.test(name)));
  return run(process.execPath, [runnerBundleBin, "run", "--no-sandbox", "--pool", "workspace", "--url", "http://127.0.0.1:9", ...extra], {
    env: { ...base, HOME: home, SPARKI_RUNNER_TOKEN: "srn_test", ...env },
  }).then(
    () => ({ code: 0, stderr: "" }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
  );
}

describe("sparki-runner run", () => {
  it("refuses a work folder under a dot segment, from the flag or the environment, creating nothing", async () => {
    const dotted = join(home, ".hidden", "work");
    for (const [args, env] of [[["--work-dir", dotted]], [[], { SPARKI_RUNNER_WORK_DIR: dotted }]] as const) {
      const result = await runner([...args], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `sparki-runner: the work folder ${dotted} has a segment beginning with a dot (.hidden), and test suites refuse to run under such paths (express's, for one); pass --work-dir (or SPARKI_RUNNER_WORK_DIR) with a plain path\n`,
      );
    }
    await expect(stat(join(home, ".hidden"))).rejects.toThrow();
  });
});

describe("scratchRoot", () => {
  it("is $TMPDIR when set, else /var/tmp (on disk) where it is writable", () => {
    expect(scratchRoot({ TMPDIR: "/srv/scratch/" })).toBe("/srv/scratch");
    expect(scratchRoot({})).toBe("/var/tmp");
  });
});
