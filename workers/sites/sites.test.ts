/**
 * Sites on their own origin, inside workerd: a site's host never gets the dashboard or the API,
 * every site response carries its CSP and nosniff, the API's `/sites/…` only redirects, the
 * health check's path stays inside the site, and deleting a project stops its sites at once and
 * removes its R2 objects through the queue.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { Cache } from "../../server/cache/cache.js";
import { switchAlias } from "../../server/deploy/aliases.js";
import { contentTypeOf } from "../../server/deploy/static-site.js";
import worker from "../index.js";
import { purgeProjectObjects } from "../services/purge.js";
import { call, createProject, createWorkspace, signup, type TestUser } from "../testing/api.js";
import { builtSite, deploymentWhen, withDb } from "../testing/deploy.js";
import { encodeId, siteUrl } from "../../server/sites/hosts.js";
import { serveSite } from "../../server/sites/serve.js";
import { sitePrefix } from "../../server/r2-keys.js";

let owner: TestUser;
let workspaceId: string;
const cache = () => new Cache(env.UPSTASH_REDIS_REST_URL ?? "", env.UPSTASH_REDIS_REST_TOKEN ?? "", () => undefined);
const stageUrl = (projectId: string, stage = "production") => siteUrl(env.SITES_ORIGIN, { projectId, stage }) ?? "";

/** A project whose `production` stage serves `files`; returns the ids. */
async function liveSite(files: Record<string, string>, inWorkspace = workspaceId): Promise<{ projectId: string; deploymentId: string }> {
  const projectId = (await createProject(owner, inWorkspace)).id;
  const deploymentId = crypto.randomUUID();
  // Written as publishing leaves them (server/deploy/static-site.ts has its own tests).
  for (const [name, data] of Object.entries(files))
    await env.ARTIFACTS.put(sitePrefix(projectId, deploymentId) + name, data, { httpMetadata: { contentType: contentTypeOf(name) } });
  await withDb((db) => switchAlias(db, cache(), projectId, "production", deploymentId));
  return { projectId, deploymentId };
}

beforeAll(async () => {
  owner = await signup("site-origin");
  workspaceId = (await createWorkspace(owner)).id;
});

describe("the sites origin", () => {
  it("serves a site on its own host with its CSP and nosniff, and nothing of the API or dashboard", async () => {
    const { projectId, deploymentId } = await liveSite({ "index.html": "<h1>mine</h1>" });
    const home = await SELF.fetch(stageUrl(projectId));
    expect(home.status).toBe(200);
    expect(await home.text()).toBe("<h1>mine</h1>");
    const csp = home.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self';");
    expect(csp).toMatch(/sandbox [^;]*allow-scripts/);
    expect(csp).not.toMatch(/allow-top-navigation|https?:|\*/);
    expect(home.headers.get("x-content-type-options")).toBe("nosniff");
    // The immutable address of the deployment answers on its own host too.
    const own = await SELF.fetch(siteUrl(env.SITES_ORIGIN, { projectId, deploymentId }) ?? "");
    expect(await own.text()).toBe("<h1>mine</h1>");

    // On a site's host, API paths and dashboard files are just missing site files.
    for (const path of ["v1/me", "v1/openapi.json", "healthz", "assets/app.js", "some/deep/link"]) {
      const res = await SELF.fetch(`${stageUrl(projectId)}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type"), path).toBe("text/html; charset=utf-8");
      expect(await res.text(), path).toBe("Not found");
      expect(res.headers.get("content-security-policy"), path).toBe(csp);
    }
    const writes = await SELF.fetch(`${stageUrl(projectId)}v1/tokens`, { method: "POST", body: "{}" });
    expect(writes.status).toBe(405);
    // The bare sites host and hosts that name no site are 404s, never the dashboard.
    for (const url of [
      `${env.SITES_ORIGIN}/`,
      `http://nope.sites.test/`,
      `http://a.b.sites.test/index.html`,
      `http://${encodeId(crypto.randomUUID())}.sites.test/`,
    ]) {
      const res = await SELF.fetch(url);
      expect(res.status, url).toBe(404);
      expect(await res.text(), url).not.toContain('<div id="app">');
    }
  });

  it("redirects the API origin's old /sites/ addresses to the site's host and serves no site content there", async () => {
    const { projectId, deploymentId } = await liveSite({ "index.html": "<h1>moved</h1>", "docs/a.html": "a" });
    const stage = await SELF.fetch(`http://sparki.test/sites/${projectId}/production/docs/a.html?x=1`, { redirect: "manual" });
    expect(stage.status).toBe(308);
    expect(stage.headers.get("location")).toBe(`${stageUrl(projectId)}docs/a.html?x=1`);
    expect(await stage.text()).not.toContain("moved");
    const own = await SELF.fetch(`http://sparki.test/sites/${projectId}/@${deploymentId}/`, { redirect: "manual" });
    expect(own.headers.get("location")).toBe(siteUrl(env.SITES_ORIGIN, { projectId, deploymentId }));
    expect((await SELF.fetch(`http://sparki.test/sites/${projectId}/NOT_A_STAGE/`, { redirect: "manual" })).status).toBe(404);
  });

  it("keeps a health check's path inside the site: /../../v1/me is the site's own file, never the API", { timeout: 60_000 }, async () => {
    const projectId = (await createProject(owner, workspaceId)).id;
    // Served in process, the API would answer /v1/me with 401; the site's own file answers 200.
    const health = { path: "/../../v1/me", intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 1 };
    const buildId = await builtSite(projectId, { "index.html": "<h1>h</h1>", "v1/me": "inside the site" }, [
      { stage: "production", platform: "sparki-static", healthCheck: health },
    ]);
    const started = await call("POST", `/v1/builds/${buildId}/deploy`, { token: owner.accessToken });
    expect(started.status, started.text).toBe(201);
    const d = await deploymentWhen(owner, started.body.id, (x) => x.status !== "pending" && x.status !== "deploying" && x.status !== "verifying", 30_000);
    expect(d.status, JSON.stringify(d.events)).toBe("succeeded");
    expect(d.events.map((e: { message: string }) => e.message).join("\n")).toContain("GET /v1/me answered 200");
    // The deployment's address shown to users is its host on the sites origin.
    expect(d.stages[0].url).toBe(siteUrl(env.SITES_ORIGIN, { projectId, deploymentId: d.id }));

    // The sites module itself, as the health check calls it, with every spelling of climbing out.
    const deps = { bucket: env.ARTIFACTS, db: () => Promise.reject(new Error("unused")), cache: cache() };
    for (const path of ["/../../v1/me", "/%2e%2e/%2E%2E/v1/me", "/a/../../../v1/me", "/./v1/./me"]) {
      const text = await withDb(async (db) =>
        (await serveSite({ ...deps, db: async () => db }, { projectId, deploymentId: d.id }, { method: "GET", path })).text(),
      );
      expect(text, path).toBe("inside the site");
    }
    for (const path of ["/..%2fv1/me", "/%5c..%5cv1/me", "/%00", "/%E0%A4%A"]) {
      const res = await serveSite(deps, { projectId, deploymentId: d.id }, { method: "GET", path });
      expect(res.status, path).toBe(404);
    }
  });
});

describe("deleting a project", () => {
  it("stops its sites at once and removes its R2 objects through the queue", async () => {
    const { projectId, deploymentId } = await liveSite({ "index.html": "<h1>doomed</h1>", "a.js": "1" });
    await env.ARTIFACTS.put(`projects/${projectId}/builds/${crypto.randomUUID()}/logs/build.log`, "log");
    await env.ARTIFACTS.put(`projects/${projectId}/snapshots/x.json`, "{}");
    const own = siteUrl(env.SITES_ORIGIN, { projectId, deploymentId }) ?? "";
    // Both addresses served (and their entries cached) before the deletion.
    expect((await SELF.fetch(stageUrl(projectId))).status).toBe(200);
    expect((await SELF.fetch(own)).status).toBe(200);

    const deleted = await call("DELETE", `/v1/projects/${projectId}`, { token: owner.accessToken });
    expect(deleted.status, deleted.text).toBe(204);
    for (const url of [stageUrl(projectId), `${stageUrl(projectId)}a.js`, own]) {
      const res = await SELF.fetch(url);
      expect(res.status, url).toBe(404);
      expect(await res.text(), url).not.toContain("doomed");
    }

    // The queue delivers project.deleted to the consumer, which empties the project's prefix.
    await expect.poll(async () => (await env.ARTIFACTS.list({ prefix: `projects/${projectId}/` })).objects.length, { timeout: 10_000, interval: 100 }).toBe(0);
    // Delivered again (a retry, or the later sweep), it finds nothing left and is acknowledged.
    for (const id of ["first", "again"]) {
      const batch = createMessageBatch("sparki-events", [
        { id, timestamp: new Date(), attempts: 1, body: { type: "project.deleted", projectId, correlationId: "c", occurredAt: new Date().toISOString() } },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual([id]);
    }
    expect((await env.ARTIFACTS.list({ prefix: `projects/${projectId}/` })).objects).toEqual([]);
    expect((await SELF.fetch(own)).status).toBe(404);
  });

  it("deleting a workspace does the same for each of its projects", async () => {
    const doomed = (await createWorkspace(owner, "Doomed")).id;
    const { projectId } = await liveSite({ "index.html": "<h1>gone too</h1>" }, doomed);
    expect((await SELF.fetch(stageUrl(projectId))).status).toBe(200);
    const deleted = await call("DELETE", `/v1/workspaces/${doomed}`, { token: owner.accessToken });
    expect(deleted.status, deleted.text).toBe(204);
    expect((await SELF.fetch(stageUrl(projectId))).status).toBe(404);
  });

  it("deleting an account does the same for the workspaces that go with it", async () => {
    const leaving = await signup("leaving");
    const alone = (await createWorkspace(leaving, "Alone")).id;
    const projectId = (await createProject(leaving, alone)).id;
    const deploymentId = crypto.randomUUID();
    await env.ARTIFACTS.put(`${sitePrefix(projectId, deploymentId)}index.html`, "<h1>mine alone</h1>", {
      httpMetadata: { contentType: "text/html; charset=utf-8" },
    });
    await withDb((db) => switchAlias(db, cache(), projectId, "production", deploymentId));
    expect((await SELF.fetch(stageUrl(projectId))).status).toBe(200);
    const deleted = await call("DELETE", "/v1/me", { token: leaving.accessToken, body: { password: leaving.password } });
    expect(deleted.status, deleted.text).toBe(204);
    expect((await SELF.fetch(stageUrl(projectId))).status).toBe(404);
  });

  it("purges in pages and says when more remain", async () => {
    const projectId = crypto.randomUUID();
    const other = crypto.randomUUID();
    for (let i = 0; i < 5; i++) await env.ARTIFACTS.put(`projects/${projectId}/f${i}`, "x");
    await env.ARTIFACTS.put(`projects/${other}/keep`, "x");
    expect(await purgeProjectObjects(env.ARTIFACTS, projectId, { maxPages: 2, pageSize: 2 })).toEqual({ deleted: 4, more: true });
    expect(await purgeProjectObjects(env.ARTIFACTS, projectId, { maxPages: 2, pageSize: 2 })).toEqual({ deleted: 1, more: false });
    expect((await env.ARTIFACTS.list({ prefix: `projects/${projectId}/` })).objects).toEqual([]);
    expect((await env.ARTIFACTS.head(`projects/${other}/keep`))?.size).toBe(1);
  });
});
