/**
 * GitLab drives builds, end to end on the local stack with the GitLab fake (a real HTTP server on
 * 127.0.0.1 as GITLAB_URL) and a real runner: an admin links the project with a project access
 * token (checked against the fake) → GitLab's push delivery with the secret token builds exactly
 * that commit (cloned from the fake's git http-backend, a private repository, with the link's
 * access token, which never appears in the log) → the commit's "sparki" status on the fake
 * goes to success with the build's link. A redelivery starts nothing; a wrong token is a 401.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessLevel, FakeGitLab, type FakeProject } from "../fakes/gitlab.ts";
import { type Delivery, deliver, deliveryHeaders, pushPayload } from "../fakes/gitlab-hooks.ts";
import { E2E, oneStepYml, until } from "./support.js";

const gl = new FakeGitLab();
const e2e = new E2E();
let shop: FakeProject;
let accessToken: string;
let projectId: string;
let webhookUrl: string;
let webhookToken: string;

/**
 * A delivery on a connection of its own: a refused delivery is answered before its body is read,
 * and wrangler dev's proxy does not take another request on such a connection (GitLab opens one
 * per delivery anyway).
 */
function deliverAlone(url: string, payload: Record<string, unknown>, d: Delivery = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: deliveryHeaders(payload, d), agent: false }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on("end", () => resolve(`${res.statusCode} ${text}`));
    });
    req.on("error", reject);
    req.end(JSON.stringify(payload));
  });
}

const builds = async () => (await e2e.api("GET", `/v1/projects/${projectId}/builds`)).body.items as { id: string; branch: string; commitSha: string }[];

beforeAll(async () => {
  await gl.start();
  shop = await gl.addProject({
    path: "acme/shop",
    // Private: the runner clones it only with the link's access token (the job's clone credential).
    visibility: "private",
    files: {
      "package.json": JSON.stringify({ name: "shop", version: "1.0.0" }),
      "sparki.yml": oneStepYml(`node -e "console.log('built from gitlab')"`),
    },
  });
  accessToken = gl.addProjectToken(shop, { scopes: ["api", "read_repository"], level: AccessLevel.developer });
  await e2e.start({ vars: { GITLAB_URL: gl.url } });
  await e2e.runner("gitlab");
  projectId = (await e2e.project("shop", `${gl.url}/acme/shop.git`)).id;
}, 240_000);

afterAll(async () => {
  await e2e.close();
  await gl.close();
}, 60_000);

describe("GitLab on the local stack", () => {
  it("links the project with an access token GitLab accepts, and refuses one it does not", async () => {
    const reporter = gl.addProjectToken(shop, { scopes: ["api"], level: AccessLevel.reporter });
    const weak = await e2e.api("PUT", `/v1/projects/${projectId}/gitlab`, { path: "acme/shop", accessToken: reporter });
    expect(weak.status).toBe(400);
    expect(weak.body.detail).toContain("Developer");
    const wrong = await e2e.api("PUT", `/v1/projects/${projectId}/gitlab`, { projectId: shop.id, accessToken: "glpat-not-a-real-token-xx" });
    expect(wrong.status).toBe(400);

    const linked = await e2e.api("PUT", `/v1/projects/${projectId}/gitlab`, { path: "acme/shop", accessToken });
    expect(linked.status, JSON.stringify(linked.body)).toBe(201);
    expect(linked.body).toMatchObject({ gitlabProjectId: shop.id, path: "acme/shop", events: ["Push events", "Merge request events"] });
    webhookUrl = linked.body.webhookUrl;
    webhookToken = linked.body.webhookToken;
    expect(webhookUrl).toBe(`${e2e.stack.apiUrl}/v1/integrations/gitlab/webhook/${projectId}`);
    const shown = await e2e.api("GET", `/v1/projects/${projectId}/gitlab`);
    expect(shown.body).toMatchObject({ linked: true, gitlabProjectId: shop.id });
    expect(JSON.stringify(shown.body)).not.toContain(accessToken);
  });

  it("builds exactly the pushed commit and reports success on it; a redelivery starts nothing", async () => {
    const sha = await gl.commit(shop, "main", { "CHANGELOG.md": "pushed\n" });
    const payload = pushPayload(gl.url, shop, { ref: "refs/heads/main", before: shop.head, after: sha });
    const key = crypto.randomUUID();
    const first = await deliver(webhookUrl, payload, { token: webhookToken, idempotencyKey: key });
    expect(first.status, await first.clone().text()).toBe(202);
    const [build] = await until("the pushed commit's build", async () => {
      const items = await builds();
      return items.length > 0 && items;
    });
    expect(build).toMatchObject({ branch: "main", commitSha: sha });
    const done = await e2e.waitForEnd(build?.id ?? "");
    expect(done.status, e2e.diagnostics()).toBe("succeeded");
    const log = (await e2e.bytes(`/v1/builds/${build?.id}/logs.txt`)).body.toString("utf8");
    expect(log).toContain("built from gitlab");
    expect(log).not.toContain(accessToken);
    expect(log).not.toContain(Buffer.from(`sparki:${accessToken}`).toString("base64"));

    const status = await until("the commit's status on GitLab", async () => {
      const s = gl.statusesOf(shop, sha).find((x) => x.name === "sparki");
      return s?.status === "success" && s;
    });
    expect(status).toMatchObject({ ref: "main", target_url: `${e2e.stack.apiUrl}/builds/${build?.id}` });
    // The status went through pending or running first, on the same record.
    expect(status.started_at ?? status.created_at).toBeTruthy();

    const again = await deliver(webhookUrl, payload, { token: webhookToken, idempotencyKey: key });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ duplicate: true, buildId: build?.id });
    expect(await builds()).toHaveLength(1);
  });

  it("refuses a wrong token with 401 and starts nothing", async () => {
    const payload = pushPayload(gl.url, shop, { ref: "refs/heads/main", after: shop.head });
    expect(await deliverAlone(webhookUrl, payload)).toMatch(/^401 .*X-Gitlab-Token is missing/);
    expect(await deliverAlone(webhookUrl, payload, { token: "0".repeat(64) })).toMatch(/^401 .*does not match/);
    expect(await builds()).toHaveLength(1);
  });
});
