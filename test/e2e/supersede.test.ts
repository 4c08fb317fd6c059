/**
 * Two quick `git push`es through the installed push hook on the real local stack with a real
 * runner: the first commit's build (a long step) is cancelled as superseded by the second's, its
 * runner stops the step, and the second commit's build runs and succeeds.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, git, gitEnv, oneStepYml, run, until } from "./support.js";
import { sparkiBin } from "../../dev/bins.ts";

const e2e = new E2E();
const cliBin = sparkiBin;

let clone: string;
let projectId: string;

type Listed = { id: string; number: number; commitSha: string; status: string; error: string | null };
const builds = async () => (await e2e.api("GET", `/v1/projects/${projectId}/builds`)).body.items as Listed[];

beforeAll(async () => {
  await e2e.start();
  await e2e.runner("superseded");
  const bare = join(e2e.work, "server.git");
  await run("git", ["init", "--quiet", "--bare", "--initial-branch=main", bare], { env: gitEnv });
  projectId = (await e2e.project("superseded", bare)).id;
  await run(process.execPath, [cliBin, "hooks", "install", "--project", projectId, bare], {
    env: { ...process.env, XDG_CONFIG_HOME: join(e2e.work, "cli-config"), SPARKI_URL: e2e.stack.apiUrl, SPARKI_TOKEN: e2e.token },
  });
  clone = join(e2e.work, "clone");
  await run("git", ["clone", "--quiet", bare, clone], { env: gitEnv });
}, 180_000);

afterAll(() => e2e.close(), 60_000);

async function commit(step: string, message: string): Promise<string> {
  writeFileSync(join(clone, "sparki.yml"), oneStepYml(step));
  await git(clone, "add", "-A");
  await git(clone, "commit", "--quiet", "-m", message);
  return (await git(clone, "rev-parse", "HEAD")).trim();
}

describe("two quick pushes to one branch", () => {
  it("cancel the older commit's build as superseded; the newer one runs and succeeds", async () => {
    writeFileSync(join(clone, "package.json"), JSON.stringify({ name: "superseded", version: "1.0.0" }));
    // The first commit's step would run for ten minutes: only superseding ends it early.
    const older = await commit(`node -e "setTimeout(() => {}, 600000)"`, "slow");
    expect(await git(clone, "push", "origin", "main")).toContain("build started");
    const newer = await commit(`node -e "console.log('the newer commit')"`, "fast");
    expect(await git(clone, "push", "origin", "main")).toContain("build started");

    const [first, second] = await until("both builds", async () => {
      const items = await builds();
      const a = items.find((b) => b.commitSha === older);
      const b = items.find((x) => x.commitSha === newer);
      return a && b ? [a, b] : null;
    });
    const cancelled = await e2e.waitForEnd(first?.id ?? "");
    expect(cancelled.status, e2e.diagnostics()).toBe("cancelled");
    expect(cancelled.error).toBe(`superseded by build #${second?.number}`);
    const done = await e2e.waitForEnd(second?.id ?? "");
    expect(done.status, e2e.diagnostics()).toBe("succeeded");
    expect(done.commitSha).toBe(newer);
  });
});
