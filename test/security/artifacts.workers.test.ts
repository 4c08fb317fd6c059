/**
 * Hostile site archives through the real DeploymentOrchestrator in workerd: a 400 MB inflation
 * bomb (a ~400 KB .tar.gz), climbing paths and links are refused with a deployment event that
 * says why, nothing of them is left in R2, and the stage keeps serving what it served. The
 * unpacking's memory is bounded by design: the reader reports the most it ever held.
 * The workerd process's own memory under a bomb is measured in artifacts.test.ts (Node side).
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { publishSite } from "../../server/deploy/static-site.js";
import { siteUrl } from "../../server/sites/hosts.js";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import { builtSite, deploymentWhen, siteVersion } from "../../workers/testing/deploy.js";
import { craftTarGz, type CraftedEntry } from "./tar-craft.js";
import { sitePrefix } from "../../server/r2-keys.js";

let owner: TestUser;
let projectId: string;
const MiB = 1024 * 1024;

beforeAll(async () => {
  owner = await signup("bomber");
  const workspaceId = (await createWorkspace(owner)).id;
  projectId = (await createProject(owner, workspaceId)).id;
});

const stages = [{ stage: "production", platform: "sparki-static" }];

async function deployBuild(buildId: string): Promise<string> {
  const res = await call("POST", `/v1/builds/${buildId}/deploy`, { token: owner.accessToken });
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

/** Deploys a build whose site artifact is `archive` and waits for it to end. */
async function deployArchive(archive: Uint8Array): Promise<any> {
  const buildId = await builtSite(projectId, {}, stages, { artifact: false });
  await env.ARTIFACTS.put(`projects/${projectId}/builds/${buildId}/artifacts/dist`, archive, { customMetadata: { kind: "directory", jobId: `${buildId}.2` } });
  const id = await deployBuild(buildId);
  return deploymentWhen(owner, id, (d) => ["failed", "rolled_back", "succeeded"].includes(d.status), 60_000);
}

const production = () => SELF.fetch(siteUrl(env.SITES_ORIGIN, { projectId, stage: "production" }) ?? "");
const leftUnder = async (prefix: string) => (await env.ARTIFACTS.list({ prefix })).objects.map((o) => o.key);

describe("hostile site archives", () => {
  beforeAll(async () => {
    const live = await deployBuild(await builtSite(projectId, siteVersion("live"), stages));
    await deploymentWhen(owner, live, (d) => d.status === "succeeded", 30_000);
    expect(await (await production()).text()).toContain("<h1>live</h1>");
  });

  it("refuses a 400 MB inflation bomb: an event says why, nothing is published, the stage is untouched", { timeout: 120_000 }, async () => {
    const bomb = await craftTarGz([{ name: "index.html", data: { zeros: 400 * 1000 * 1000 } }]);
    expect(bomb.byteLength).toBeLessThan(1024 * 1024);
    const d = await deployArchive(bomb);
    expect(d.status).not.toBe("succeeded");
    const messages = d.events.map((e: any) => e.message).join("\n");
    expect(messages).toContain(`file index.html is 400000000 bytes, over the limit of ${100 * MiB}`);
    expect(await leftUnder(sitePrefix(projectId, d.id))).toEqual([]);
    expect(await (await production()).text()).toContain("<h1>live</h1>");
  });

  it.each<[string, CraftedEntry[], RegExp]>([
    [
      "a climbing path",
      [
        { name: "index.html", data: new TextEncoder().encode("ok") },
        { name: "../../escape.html", data: new TextEncoder().encode("x") },
      ],
      /leads outside the archive/,
    ],
    ["an absolute path", [{ name: "/etc/cron.d/x", data: new TextEncoder().encode("x") }], /absolute path/],
    [
      "a symbolic link",
      [
        { name: "index.html", data: new TextEncoder().encode("ok") },
        { name: "secrets", data: new Uint8Array(0), type: "2", link: "/proc/self/environ" },
      ],
      /symbolic link/,
    ],
    [
      "a hard link",
      [
        { name: "index.html", data: new TextEncoder().encode("ok") },
        { name: "copy", data: new Uint8Array(0), type: "1", link: "../../x" },
      ],
      /hard link/,
    ],
    ["a device", [{ name: "tty", data: new Uint8Array(0), type: "3" }], /character device/],
  ])("refuses an archive with %s and leaves nothing of it", async (_what, entries, reason) => {
    const d = await deployArchive(await craftTarGz(entries));
    expect(d.status).not.toBe("succeeded");
    expect(d.events.map((e: any) => e.message).join("\n")).toMatch(reason);
    // Refused by the read that writes nothing: no file before the bad entry reaches R2 either.
    expect(await leftUnder(sitePrefix(projectId, d.id))).toEqual([]);
    expect(await (await production()).text()).toContain("<h1>live</h1>");
  });

  it("unpacks holding one chunk at most, and writes nothing when the total runs over", { timeout: 120_000 }, async () => {
    const id = crypto.randomUUID();
    const files = Array.from({ length: 6 }, (_, i): CraftedEntry => ({ name: `part-${i}.bin`, data: { zeros: 4 * MiB } }));
    const limits = { maxTotalBytes: 20 * MiB, maxFiles: 100, maxFileBytes: 10 * MiB };
    // The real bucket, with its writes noted: the first four files fit under the cap, and none may be written.
    const written: string[] = [];
    const bucket = new Proxy(env.ARTIFACTS, {
      get(target, key) {
        if (key === "put") return (name: string, ...rest: [any, any?]) => (written.push(name), target.put(name, ...rest));
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const err = await publishSite(bucket, projectId, id, await craftTarGz(files), limits).then(
      () => null,
      (e: unknown) => e,
    );
    expect(String(err)).toContain(`the archive inflates to more than ${20 * MiB} bytes`);
    expect(written).toEqual([]);
    expect(await leftUnder(sitePrefix(projectId, id))).toEqual([]);
    // Under the limits, the same kind of archive goes through holding a chunk, never a file.
    const ok = await publishSite(bucket, projectId, id, await craftTarGz(files.slice(0, 4)), limits);
    expect(written).toHaveLength(4);
    expect(ok).toMatchObject({ files: 4, bytes: 16 * MiB });
    // One inflated step (1 KiB of input, about a MiB at most for zeros) and a header.
    expect(ok.peakHeldBytes).toBeLessThan(1.5 * MiB);
    expect((await env.ARTIFACTS.head(`${sitePrefix(projectId, id)}part-3.bin`))?.size).toBe(4 * MiB);
  });
});
