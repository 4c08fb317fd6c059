import { env, SELF } from "cloudflare:test";
import { createTar } from "nanotar";
import { beforeAll, describe, expect, it } from "vitest";
import { Cache } from "../../server/cache/cache.js";
import { setCanary, switchAlias } from "../../server/deploy/aliases.js";
import { pickDeployment, publishSite, siteFilePath } from "../../server/deploy/static-site.js";
import { siteUrl } from "../../server/sites/hosts.js";
import { createProject, createWorkspace, signup } from "../testing/api.js";
import { gzip, withDb } from "../testing/deploy.js";
import { until } from "../../test/until.ts";

let projectId: string;
const cache = () => new Cache(env.UPSTASH_REDIS_REST_URL ?? "", env.UPSTASH_REDIS_REST_TOKEN ?? "", () => undefined);

/** Publishes a site version: an index page and an asset whose name carries the version. */
async function publish(version: string): Promise<string> {
  const id = crypto.randomUUID();
  const tar = createTar([
    { name: "./index.html", data: `<h1>${version}</h1><script src="assets/app-${version}.js"></script>` },
    { name: `./assets/app-${version}.js`, data: `console.log("${version}")` },
    { name: "./docs/index.html", data: `docs ${version}` },
    { name: "escape.txt", data: "must not be written" },
  ]);
  // The same archive with a climbing entry is refused whole, and leaves nothing behind.
  const refused = crypto.randomUUID();
  await expect(publishSite(env.ARTIFACTS, projectId, refused, await gzip(withTraversal(tar, "escape.txt", "../escape.txt")))).rejects.toThrow(
    /leads outside the archive/,
  );
  const { files } = await publishSite(env.ARTIFACTS, projectId, id, await gzip(tar));
  expect(files).toBe(4);
  const listed = await env.ARTIFACTS.list({ prefix: `projects/${projectId}/` });
  for (const object of listed.objects) expect(object.key).toMatch(new RegExp(`^projects/${projectId}/deployments/[0-9a-f-]{36}/site/[^.][^/]*(/[^./][^/]*)*$`));
  expect(listed.objects.map((o) => o.key)).toContain(`projects/${projectId}/deployments/${id}/site/escape.txt`);
  expect(listed.objects.filter((o) => o.key.includes(refused))).toEqual([]);
  return id;
}

/**
 * Renames an entry in a raw tar to a path that climbs out (as a hostile archive would; nanotar
 * itself refuses to write one), fixing the header checksum.
 */
function withTraversal(tar: Uint8Array, from: string, to: string): Uint8Array {
  const out = tar.slice();
  const encoder = new TextEncoder();
  for (let offset = 0; offset + 512 <= out.length; offset += 512) {
    const name = new TextDecoder().decode(out.slice(offset, offset + 100)).replace(/\0.*$/s, "");
    if (name !== from) continue;
    out.fill(0, offset, offset + 100);
    out.set(encoder.encode(to), offset);
    out.fill(0x20, offset + 148, offset + 156);
    const sum = out.slice(offset, offset + 512).reduce((a, b) => a + b, 0);
    out.set(encoder.encode(`${sum.toString(8).padStart(6, "0")}\0 `), offset + 148);
  }
  return out;
}

/** Polls (at most 5 s) until the stage serves a page containing `text`. */
async function servedWithin(path: string, text: string): Promise<void> {
  await until(`${path} to serve ${text}`, async () => (await (await get(path)).text()).includes(text), 5000);
}

/** GET `<stage>/<path>` on the stage's own host under the sites origin. */
const get = (path: string, cookie?: string) => {
  const [stage = "", ...rest] = path.split("/");
  return SELF.fetch(`${siteUrl(env.SITES_ORIGIN, { projectId, stage })}${rest.join("/")}`, { headers: cookie ? { cookie } : {} });
};

beforeAll(async () => {
  const user = await signup("sites");
  projectId = (await createProject(user, (await createWorkspace(user)).id)).id;
});

describe("sparki-static serving", () => {
  it("serves a published deployment through its stage alias, with index pages and types", async () => {
    const v1 = await publish("v1");
    await withDb((db) => switchAlias(db, cache(), projectId, "production", v1));
    const root = await get("production/");
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(root.headers.get("x-sparki-deployment")).toBe(v1);
    expect(await root.text()).toContain("<h1>v1</h1>");
    expect(await (await get("production/docs")).text()).toBe("docs v1");
    const js = await get("production/assets/app-v1.js");
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await get("production/missing.png")).status).toBe(404);
    // Dot segments resolve inside the site: its own escape.txt, never anything outside it.
    expect(await (await get("production/%2e%2e/escape.txt")).text()).toBe("must not be written");
    expect((await get("staging/")).status).toBe(404);
  });

  it("switches atomically, and a page loaded before the switch still gets its own assets", async () => {
    const v1 = await publish("v1");
    await withDb((db) => switchAlias(db, cache(), projectId, "blue-green", v1));
    // One cache entry holds all of a project's stages: the Worker's isolate sees the new stage
    // within its cache tier's 2 s.
    await servedWithin("blue-green/", "<h1>v1</h1>");
    const page = await get("blue-green/");
    const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    expect(cookie).toBe(`__Host-sparki_pin=${v1}`);
    const v2 = await publish("v2");
    await withDb((db) => switchAlias(db, cache(), projectId, "blue-green", v2));
    // Isolates see a switch within their cache tier's 2 s; once seen, every new visitor gets v2.
    await servedWithin("blue-green/", "<h1>v2</h1>");
    for (let i = 0; i < 20; i++) expect(await (await get("blue-green/")).text()).toContain("<h1>v2</h1>");
    // The page loaded before the switch still gets its own asset from the deployment it came from,
    // but the same visitor's next page load is the new version (the pin never holds pages back).
    expect((await get("blue-green/assets/app-v1.js", cookie)).status).toBe(200);
    const returning = await get("blue-green/", cookie);
    expect(await returning.text()).toContain("<h1>v2</h1>");
    expect(returning.headers.get("set-cookie")).toContain(`__Host-sparki_pin=${v2}`);
    // Rollback is the same switch, back.
    await withDb((db) => switchAlias(db, cache(), projectId, "blue-green", v1));
    await servedWithin("blue-green/", "<h1>v1</h1>");
  });

  it("sends the canary share of new visitors to the canary, and keeps each visitor where they landed", { timeout: 120_000 }, async () => {
    const stable = await publish("stable");
    const canary = await publish("canary");
    await withDb(async (db) => {
      await switchAlias(db, cache(), projectId, "canary", stable);
      await setCanary(db, cache(), projectId, "canary", canary, 25);
    });
    // Once the Worker's isolate has seen the canary (its cache tier keeps entries 2 s)...
    await expect.poll(async () => (await get("canary/")).headers.get("x-sparki-deployment"), { timeout: 5000, interval: 50 }).toBe(canary);
    // The weighting itself is checked exactly below; here the route honours it (200 visitors).
    let onCanary = 0;
    for (let batch = 0; batch < 4; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => get("canary/")));
      for (const res of answers) {
        if (res.headers.get("x-sparki-deployment") === canary) onCanary += 1;
        await res.body?.cancel();
      }
    }
    // 25 % of 200: a binomial's 4-sigma band is about ±25.
    expect(onCanary).toBeGreaterThan(25);
    expect(onCanary).toBeLessThan(75);
    const sticky = `__Host-sparki_pin=${canary}`;
    for (let i = 0; i < 20; i++) expect((await get("canary/", sticky)).headers.get("x-sparki-deployment")).toBe(canary);
  });
});

describe("pickDeployment", () => {
  it("sends exactly the configured share of rolls to the canary", () => {
    const alias = { deploymentId: "stable", canaryDeploymentId: "canary", canaryPercent: 25 };
    const rolls = Array.from({ length: 1000 }, (_, i) => i % 100);
    expect(rolls.filter((roll) => pickDeployment(alias, roll) === "canary")).toHaveLength(250);
    expect(pickDeployment({ ...alias, canaryDeploymentId: null }, 0)).toBe("stable");
  });
});

describe("siteFilePath", () => {
  it("keeps plain relative paths and drops anything that escapes", () => {
    expect(siteFilePath("./index.html")).toBe("index.html");
    expect(siteFilePath("assets//a.js")).toBe("assets/a.js");
    expect(siteFilePath("../x")).toBeNull();
    expect(siteFilePath("a/../../x")).toBeNull();
    expect(siteFilePath("./")).toBeNull();
  });
});
