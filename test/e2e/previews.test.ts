/**
 * Pull request previews end to end on the local stack, with the GitHub fake and a real runner: a
 * pull request opened on a repository whose sparki.yml deploys `sparki-static` production builds
 * its head; the green build deploys to the pull request's own stage `pr-<n>` (no approval, no
 * stage rule, production untouched), served at its host on the sites origin (fetched through the
 * stack's sites proxy); GitHub gets a transient deployment `preview/pr-<n>` whose status carries
 * the preview's stable URL. A push to the pull request updates the preview at the same host. The pull request closes: the host answers 404, the deployment's own address
 * too (its files are deleted), and the GitHub deployment becomes inactive.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchSite } from "../../dev/sites-proxy.js";
import { siteUrl } from "../../server/sites/hosts.js";
import { FakeGitHub, type FakeInstallation } from "../fakes/github.ts";
import { deliver, type Delivery, pullRequestPayload } from "../fakes/github-webhooks.ts";
import { bareClone, E2E, gitEnv, oneStepYml, until } from "./support.js";
import { githubAppVars, linkInstallation, postDelivery } from "../fakes/github-app-link.ts";

const exec = promisify(execFile);
const gh = new FakeGitHub();
const e2e = new E2E();
const secret = `whsec-${crypto.randomUUID()}`;
let inst: FakeInstallation;
let headSha: string;
let work: string;
let gitDir: string;

const post = (d: Delivery) => postDelivery(e2e.stack.apiUrl, d);
const files = (version: string) => ({
  "package.json": JSON.stringify({ name: "site", version: "1.0.0", private: true }),
  "sparki.yml": `${oneStepYml(`mkdir -p dist && printf '<h1>${version}</h1>' > dist/index.html`, "dist")}deployments:
  - stage: production
    platform: sparki-static
`,
});
const page = async (url: string) => {
  const res = await fetchSite(url);
  return res.status === 200 ? ((await res.text()).match(/<h1>(\w+)<\/h1>/)?.[1] ?? "no heading") : `status ${res.status}`;
};

beforeAll(async () => {
  await gh.start();
  const app = gh.addApp({ slug: "sparki-previews" });
  await e2e.start({
    vars: githubAppVars(gh, app, secret),
  });
  await e2e.runner("previews");
  // main, and a pull request's branch that changes the page.
  work = await e2e.gitRepo("site", files("main"));
  const mainSha = (await exec("git", ["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
  await exec("git", ["checkout", "--quiet", "-b", "feature"], { cwd: work, env: gitEnv });
  for (const [path, content] of Object.entries(files("preview"))) writeFileSync(join(work, path), content);
  await exec("git", ["commit", "--quiet", "-am", "change the page"], { cwd: work, env: gitEnv });
  headSha = (await exec("git", ["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
  gitDir = join(e2e.work, "site.git");
  await bareClone(work, gitDir);
  gh.addRepo("acme/site", { gitDir, defaultBranch: "main", refs: { main: mainSha, feature: headSha } });
  inst = gh.install(app, "acme");
}, 240_000);

afterAll(async () => {
  await e2e.close();
  await gh.close();
}, 60_000);

describe("pull request previews on the local stack", () => {
  it("serves an open pull request's preview at its own host, reports its URL to GitHub, and removes it when the pull request closes", {
    timeout: 300_000,
  }, async () => {
    await linkInstallation({ apiUrl: e2e.stack.apiUrl, token: e2e.token, workspaceId: e2e.workspaceId }, gh, secret, inst.id);
    const imported = await e2e.api("POST", `/v1/workspaces/${e2e.workspaceId}/projects/github`, { repository: "acme/site" });
    expect(imported.status, JSON.stringify(imported.body)).toBe(201);
    const projectId = imported.body.id as string;

    const pr = (action: "opened" | "synchronize" | "closed", sha = headSha) =>
      deliver(
        secret,
        "pull_request",
        pullRequestPayload(gh, { repo: "acme/site", action, number: 7, headRef: "feature", headSha: sha, installationId: inst.id }),
      );
    expect((await post(pr("opened"))).status).toBe(202);
    const build = await until("the pull request's build", async () => (await e2e.api("GET", `/v1/projects/${projectId}/builds`)).body.items[0]);
    expect(build).toMatchObject({ branch: "feature", commitSha: headSha });
    expect((await e2e.waitForEnd(build.id)).status, e2e.diagnostics()).toBe("succeeded");

    let last: unknown;
    const preview = await until(
      "the preview deployment to succeed",
      async () => {
        const items = (await e2e.api("GET", `/v1/projects/${projectId}/deployments`)).body.items as { id: string; status: string }[];
        last = items;
        return items.find((d) => d.status === "succeeded");
      },
      90_000,
      { intervalMs: 250, diagnostics: () => `deployments: ${JSON.stringify(last)}\n${e2e.diagnostics()}` },
    );
    expect(preview).toMatchObject({ trigger: "preview", pullRequest: 7, buildId: build.id, branch: "feature" });
    const shown = (await e2e.api("GET", `/v1/deployments/${preview.id}`)).body;
    expect(shown.stages.map((s: { name: string; approval: boolean }) => [s.name, s.approval])).toEqual([["pr-7", false]]);

    const previewUrl = siteUrl(e2e.stack.sitesOrigin, { projectId, stage: "pr-7" }) ?? "";
    const ownUrl = siteUrl(e2e.stack.sitesOrigin, { projectId, deploymentId: preview.id }) ?? "";
    expect(await page(previewUrl)).toBe("preview");
    expect(await page(ownUrl)).toBe("preview");
    // Production was not touched: the pull request's build deployed nowhere else.
    expect(await page(siteUrl(e2e.stack.sitesOrigin, { projectId, stage: "production" }) ?? "")).toBe("status 404");

    const ghDeployment = await until("GitHub's preview deployment to succeed", () =>
      [...gh.repoApi.deployments.values()].find((d) => d.environment === "preview/pr-7" && d.statuses.at(-1)?.state === "success"),
    );
    expect(ghDeployment).toMatchObject({ sha: headSha, transient_environment: true, production_environment: false });
    expect(ghDeployment.statuses.at(-1)?.environment_url).toBe(previewUrl);

    // A push to the pull request updates its preview at the same host.
    for (const [path, content] of Object.entries(files("again"))) writeFileSync(join(work, path), content);
    await exec("git", ["commit", "--quiet", "-am", "change the page again"], { cwd: work, env: gitEnv });
    const nextSha = (await exec("git", ["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
    await exec("git", ["push", "--quiet", gitDir, "feature"], { cwd: work, env: gitEnv });
    expect((await post(pr("synchronize", nextSha))).status).toBe(202);
    const next = await until("the push's build", async () =>
      ((await e2e.api("GET", `/v1/projects/${projectId}/builds`)).body.items as { id: string; commitSha: string }[]).find((b) => b.commitSha === nextSha),
    );
    expect((await e2e.waitForEnd(next.id)).status, e2e.diagnostics()).toBe("succeeded");
    await until("the preview to show the push", async () => (await page(previewUrl)) === "again", 90_000, { diagnostics: () => e2e.diagnostics() });
    const previews = (await e2e.api("GET", `/v1/projects/${projectId}/deployments`)).body.items as { trigger: string; pullRequest: number }[];
    expect(previews.map((d) => [d.trigger, d.pullRequest])).toEqual([
      ["preview", 7],
      ["preview", 7],
    ]);

    expect((await post(pr("closed", nextSha))).status).toBe(202);
    await until("the preview's host to answer 404", async () => (await page(previewUrl)) === "status 404");
    await until("the first preview's own address to answer 404", async () => (await page(ownUrl)) === "status 404");
    const all = () => [...gh.repoApi.deployments.values()].filter((d) => d.environment === "preview/pr-7");
    await until("GitHub's preview deployments to become inactive", () => all().every((d) => d.statuses.at(-1)?.state === "inactive"));
    expect(all()).toHaveLength(2);
    expect(all().map((d) => d.statuses.at(-1)?.description)).toContain("Pull request #7 closed; preview removed");
  });
});
