/**
 * `git push` to a bare repository builds, with no git host at all: on the real local stack with a
 * real runner, `sparki hooks install` puts a post-receive hook into a bare repository made by
 * `git init --bare`; a clone pushes a commit and a build of exactly that commit on that branch is
 * made and succeeds. Deleting a branch starts nothing, and one delivery sent twice starts one build.
 */
import { createHmac } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, git, gitEnv, oneStepYml, run, until } from "./support.js";
import { sparkiBin } from "../../dev/bins.ts";

const e2e = new E2E();
const cliBin = sparkiBin;

let bare: string;
let clone: string;
let projectId: string;

const builds = async () => (await e2e.api("GET", `/v1/projects/${projectId}/builds`)).body.items as { id: string; branch: string; commitSha: string }[];

beforeAll(async () => {
  await e2e.start();
  await e2e.runner("pushed");
  bare = join(e2e.work, "server.git");
  await run("git", ["init", "--quiet", "--bare", "--initial-branch=main", bare], { env: gitEnv });
  projectId = (await e2e.project("pushed", bare)).id;
  // The CLI as a user runs it: its own config folder, the stack's URL and the session's token.
  await run(process.execPath, [cliBin, "hooks", "install", "--project", projectId, bare], {
    env: { ...process.env, XDG_CONFIG_HOME: join(e2e.work, "cli-config"), SPARKI_URL: e2e.stack.apiUrl, SPARKI_TOKEN: e2e.token },
  });
  clone = join(e2e.work, "clone");
  await run("git", ["clone", "--quiet", bare, clone], { env: gitEnv });
}, 180_000);

afterAll(() => e2e.close(), 60_000);

describe("git push to a bare repository with the installed hook", () => {
  it("installs an executable hook and keeps its key owner-only", () => {
    expect(statSync(join(bare, "hooks", "post-receive")).mode & 0o777).toBe(0o755);
    expect(statSync(join(bare, "hooks", "sparki-push-hook.secret")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(bare, "hooks", "post-receive"), "utf8")).not.toContain("sph_");
  });

  it("builds exactly the pushed commit on its branch, and the build runs", async () => {
    writeFileSync(join(clone, "package.json"), JSON.stringify({ name: "pushed", version: "1.0.0" }));
    writeFileSync(join(clone, "sparki.yml"), oneStepYml(`node -e "console.log('built from a push')"`));
    await git(clone, "add", "-A");
    await git(clone, "commit", "--quiet", "-m", "first");
    await git(clone, "checkout", "--quiet", "-b", "feature/hooks");
    writeFileSync(join(clone, "CHANGES"), "a second commit, on the feature branch\n");
    await git(clone, "add", "-A");
    await git(clone, "commit", "--quiet", "-m", "second");
    const sha = (await git(clone, "rev-parse", "HEAD")).trim();

    const pushed = await git(clone, "push", "origin", "feature/hooks");
    expect(pushed).toContain("sparki: refs/heads/feature/hooks: build started");
    const [build] = await until("the pushed commit's build", async () => {
      const items = await builds();
      return items.length > 0 && items;
    });
    expect(build).toMatchObject({ branch: "feature/hooks", commitSha: sha });
    const done = await e2e.waitForEnd(build?.id ?? "");
    expect(done.status, e2e.diagnostics()).toBe("succeeded");
    expect(done.commitSha).toBe(sha);
  });

  it("starts nothing when a branch is deleted", async () => {
    const before = (await builds()).length;
    const output = await git(clone, "push", "origin", "--delete", "feature/hooks");
    expect(output).toContain("sparki: refs/heads/feature/hooks: refs/heads/feature/hooks was deleted");
    const hook = await e2e.api("GET", `/v1/projects/${projectId}/hooks`);
    expect(hook.body.deliveries[0]).toMatchObject({ outcome: "ignored", buildId: null });
    expect(await builds()).toHaveLength(before);
  });

  it("starts one build when the same delivery arrives twice", async () => {
    const before = (await builds()).length;
    const sha = (await git(clone, "rev-parse", "HEAD")).trim();
    const key = readFileSync(join(bare, "hooks", "sparki-push-hook.secret"), "utf8").trim();
    const body = JSON.stringify({ ref: "refs/heads/main", before: "0".repeat(40), after: sha });
    const headers = {
      "content-type": "application/json",
      "x-sparki-signature-256": `sha256=${createHmac("sha256", key).update(body).digest("hex")}`,
      "x-sparki-delivery": crypto.randomUUID(),
    };
    const url = `${e2e.stack.apiUrl}/v1/projects/${projectId}/hooks/push`;
    const first = await fetch(url, { method: "POST", headers, body });
    expect(first.status).toBe(202);
    const again = await fetch(url, { method: "POST", headers, body });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ duplicate: true, buildId: ((await first.json()) as { buildId: string }).buildId });
    expect(await builds()).toHaveLength(before + 1);
  });
});
