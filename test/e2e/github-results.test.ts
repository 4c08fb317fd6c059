/**
 * Results back on GitHub and a private clone, end to end on the local stack with the GitHub fake
 * and a real runner: a signed push of a private repository builds the commit, cloned with an
 * installation token minted for the job; the commit's check run ends `success` linking to the
 * build's page; the token never appears in the build's log.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGitHub, type FakeInstallation } from "../fakes/github.ts";
import { deliver, type Delivery, pushPayload } from "../fakes/github-webhooks.ts";
import { bareClone, E2E, oneStepYml, until } from "./support.js";
import { githubAppVars, linkInstallation, postDelivery } from "../fakes/github-app-link.ts";

const exec = promisify(execFile);
const gh = new FakeGitHub();
const e2e = new E2E();
const secret = `whsec-${crypto.randomUUID()}`;
let inst: FakeInstallation;
let sha: string;
const post = (d: Delivery) => postDelivery(e2e.stack.apiUrl, d);

beforeAll(async () => {
  await gh.start();
  const app = gh.addApp({ slug: "sparki-results" });
  await e2e.start({
    vars: githubAppVars(gh, app, secret),
  });
  await e2e.runner("github-results");
  const work = await e2e.gitRepo("vault", {
    "package.json": JSON.stringify({ name: "vault", version: "1.0.0" }),
    "sparki.yml": oneStepYml(`node -e "console.log('built privately')"`),
  });
  sha = (await exec("git", ["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
  const gitDir = join(e2e.work, "vault.git");
  await bareClone(work, gitDir);
  gh.addRepo("acme/vault", { private: true, gitDir, defaultBranch: "main", refs: { main: sha } });
  inst = gh.install(app, "acme");
}, 240_000);

afterAll(async () => {
  await e2e.close();
  await gh.close();
}, 60_000);

describe("GitHub results and private clones on the local stack", () => {
  it("builds a private repository's push with a per-job token and ends its check run success with the build's link", async () => {
    await linkInstallation({ apiUrl: e2e.stack.apiUrl, token: e2e.token, workspaceId: e2e.workspaceId }, gh, secret, inst.id);
    const imported = await e2e.api("POST", `/v1/workspaces/${e2e.workspaceId}/projects/github`, { repository: "acme/vault" });
    expect(imported.status, JSON.stringify(imported.body)).toBe(201);
    const projectId = imported.body.id as string;

    expect(
      (await post(deliver(secret, "push", pushPayload(gh, { repo: "acme/vault", ref: "refs/heads/main", after: sha, installationId: inst.id })))).status,
    ).toBe(202);
    const build = await until("the pushed commit's build", async () => {
      const items = (await e2e.api("GET", `/v1/projects/${projectId}/builds`)).body.items as { id: string }[];
      return items[0];
    });
    const done = await e2e.waitForEnd(build.id);
    expect(done.status, e2e.diagnostics()).toBe("succeeded");

    const run = await until(
      "the check run to complete",
      () => [...gh.repoApi.checkRuns.values()].find((r) => r.external_id === build.id && r.status === "completed"),
      30_000,
    );
    expect(run).toMatchObject({ name: "sparki", head_sha: sha, conclusion: "success", details_url: `${e2e.stack.apiUrl}/builds/${build.id}` });
    expect([...gh.repoApi.checkRuns.values()].filter((r) => r.external_id === build.id)).toHaveLength(1);

    // Each job (plan and steps) was given its own token, and none of them is in the log.
    const minted = gh.requests.filter((r) => r.method === "POST" && r.path.endsWith("/access_tokens") && JSON.stringify(r.body).includes('"contents":"read"'));
    expect(minted.length).toBeGreaterThanOrEqual(2);
    const log = await (await fetch(`${e2e.stack.apiUrl}/v1/builds/${build.id}/logs.txt`, { headers: { authorization: `Bearer ${e2e.token}` } })).text();
    expect(log).toContain("built privately");
    const tokens = [...gh.tokens.entries()].filter(([, g]) => g.kind === "installation" && g.permissions.contents === "read").map(([t]) => t);
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    for (const t of tokens) expect(log).not.toContain(t);
  });
});
