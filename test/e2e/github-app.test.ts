/**
 * The GitHub App drives builds, end to end on the local stack with the GitHub fake (a real HTTP
 * server on 127.0.0.1, reached by wrangler dev under ALLOW_LOCAL_OUTBOUND) and a real runner:
 * installation created → an admin links it through the install link's signed state → the
 * repository is imported from GitHub → a signed push event builds exactly that commit, and the
 * build runs (cloned from the fake's git http-backend). A redelivered event starts nothing, a bad
 * signature is a 401 that stores nothing, and an event naming a repository nobody imported is ignored.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeApp, FakeGitHub, type FakeInstallation } from "../fakes/github.ts";
import { deliver, type Delivery, installationPayload, pushPayload } from "../fakes/github-webhooks.ts";
import { bareClone, E2E, oneStepYml, until } from "./support.js";
import { githubAppVars, installLink, postDelivery, setupUrl } from "../fakes/github-app-link.ts";
import { sparkiBin } from "../../dev/bins.ts";

const exec = promisify(execFile);
const gh = new FakeGitHub();
const e2e = new E2E();
const secret = `whsec-${crypto.randomUUID()}`;
let inst: FakeInstallation;
let othersInstallation: FakeInstallation;
let app: FakeApp;
let sha: string;
let projectId: string;

const post = (d: Delivery, body = d.body) => postDelivery(e2e.stack.apiUrl, d, body);
const builds = async () => (await e2e.api("GET", `/v1/projects/${projectId}/builds`)).body.items as { id: string; branch: string; commitSha: string }[];

beforeAll(async () => {
  await gh.start();
  app = gh.addApp({ slug: "sparki-e2e" });
  await e2e.start({
    vars: githubAppVars(gh, app, secret),
  });
  await e2e.runner("github");
  // The repository GitHub serves: one commit with a one-step sparki.yml, as a bare repository.
  const work = await e2e.gitRepo("shop", {
    "package.json": JSON.stringify({ name: "shop", version: "1.0.0" }),
    "sparki.yml": oneStepYml(`node -e "console.log('built from github')"`),
  });
  sha = (await exec("git", ["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
  const gitDir = join(e2e.work, "shop.git");
  await bareClone(work, gitDir);
  gh.addRepo("acme/shop", { gitDir, defaultBranch: "main", refs: { main: sha } });
  gh.addRepo("acme/other");
  // Someone else's installation of the app, made an hour before our install link.
  othersInstallation = gh.install(app, "victim-org", { createdAt: new Date(Date.now() - 3_600_000) });
}, 240_000);

afterAll(async () => {
  await e2e.close();
  await gh.close();
}, 60_000);

describe("GitHub App on the local stack", () => {
  it("records the installation, links it through the signed state, and imports the repository from GitHub", async () => {
    const link = await installLink(e2e.stack.apiUrl, e2e.token, e2e.workspaceId);
    expect(link.status).toBe(200);
    expect(link.url.startsWith(`${gh.webUrl}/apps/sparki-e2e/installations/new?state=`)).toBe(true);
    const setupFor = (installationId: number) => setupUrl(e2e.stack.apiUrl, installationId, link.state);

    // The redirect's installation_id is the caller's to choose: another account's earlier
    // installation, put there by hand, links nothing.
    const hijack = await fetch(setupFor(othersInstallation.id), { redirect: "manual" });
    expect(hijack.status, await hijack.clone().text()).toBe(403);
    expect((await e2e.api("GET", `/v1/workspaces/${e2e.workspaceId}/github/installations`)).body.items).toEqual([]);

    // The user installs the app on GitHub through the link; GitHub announces it.
    inst = gh.install(app, "acme");
    const created = await post(deliver(secret, "installation", installationPayload(gh, { action: "created", installationId: inst.id })));
    expect(created.status).toBe(202);
    // GitHub sends the browser back to the setup URL with the installation and the state.
    const setup = await fetch(setupFor(inst.id), { redirect: "manual" });
    expect(setup.status, `${await setup.clone().text()}\n${e2e.diagnostics()}`).toBe(302);
    expect(setup.headers.get("location")).toContain(`/w/${e2e.workspaceId}/projects?github=linked`);

    const listed = await e2e.api("GET", `/v1/workspaces/${e2e.workspaceId}/github/installations`);
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).toMatchObject({ id: inst.id, accountLogin: "acme" });
    expect(listed.body.items[0].repositories.map((r: { fullName: string }) => r.fullName)).toEqual(["acme/other", "acme/shop"]);

    // Imported with the CLI, as a user would.
    const cli = await exec(process.execPath, [sparkiBin, "projects", "create", "--github", "acme/shop", "--json"], {
      env: {
        ...process.env,
        XDG_CONFIG_HOME: join(e2e.work, "cli-config"),
        SPARKI_URL: e2e.stack.apiUrl,
        SPARKI_TOKEN: e2e.token,
        SPARKI_WORKSPACE: e2e.workspaceId,
      },
    });
    const imported = JSON.parse(cli.stdout) as { id: string };
    expect(imported).toMatchObject({ name: "shop", gitUrl: `${gh.webUrl}/acme/shop.git`, defaultBranch: "main" });
    projectId = imported.id;

    const hidden = await e2e.api("POST", `/v1/workspaces/${e2e.workspaceId}/projects/github`, { repository: "someone/else" });
    expect(hidden.status).toBe(404);
  });

  it("builds exactly the pushed commit; a redelivery starts nothing", async () => {
    const push = deliver(secret, "push", pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/main", after: sha, installationId: inst.id }));
    expect((await post(push)).status).toBe(202);
    const [build] = await until("the pushed commit's build", async () => {
      const items = await builds();
      return items.length > 0 && items;
    });
    expect(build).toMatchObject({ branch: "main", commitSha: sha });
    const done = await e2e.waitForEnd(build?.id ?? "");
    expect(done.status, e2e.diagnostics()).toBe("succeeded");

    expect((await post(push)).status).toBe(202);
    // A later delivery goes through the same queue: once it built, the redelivery before it was handled.
    const marker = deliver(secret, "push", pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/gone", deleted: true, installationId: inst.id }));
    expect((await post(marker)).status).toBe(202);
    const other = deliver(secret, "push", pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/main", after: sha, installationId: inst.id }));
    expect((await post(other)).status).toBe(202);
    await until("the second delivery's build", async () => (await builds()).length === 2);
    expect((await builds()).filter((b) => b.commitSha === sha)).toHaveLength(2);
  });

  it("refuses a bad signature with 401 and builds nothing for a repository nobody imported", async () => {
    const forged = deliver(
      "not-the-secret-at-all",
      "push",
      pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/main", after: sha, installationId: inst.id }),
    );
    const refused = await post(forged);
    expect(refused.status).toBe(401);
    const tampered = deliver(secret, "push", pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/main", after: sha, installationId: inst.id }));
    expect((await post(tampered, tampered.body.replace('"main"', '"mainx"'))).status).toBe(401);

    const unimported = deliver(secret, "push", pushPayload(gh, { repo: "acme/other", ref: "refs/heads/main", installationId: inst.id }));
    expect((await post(unimported)).status).toBe(202);
    const last = deliver(secret, "push", pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/main", after: sha, installationId: inst.id }));
    expect((await post(last)).status).toBe(202);
    await until("the last delivery's build", async () => (await builds()).length === 3);
    // Only the imported repository's deliveries built: two before, this one now.
    expect(await builds()).toHaveLength(3);
  });
});
