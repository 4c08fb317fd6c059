import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PlatformError, type DeployContext } from "../../../core/deploy/adapter.ts";
import { FakeVercel, type FakeProject } from "../../../test/fakes/vercel.ts";
import { MAX_ATTEMPTS } from "../retry.ts";
import { vercelAdapter } from "./vercel.ts";

const TOKEN = "vercel_test_token";
const TEAM = "team_abc";
let fake: FakeVercel;
let project: FakeProject;
let dir: string;
let artifactServer: Server;
let artifactBase = "";
/** The waits the platform client asked for: recorded, never slept. */
const slept: number[] = [];
const sleep = async (ms: number): Promise<void> => {
  slept.push(ms);
};
/** Artifact versions the tiny server hands out, by name. */
const artifacts = new Map<string, Buffer>();

async function makeArtifact(name: string, html: string, link?: string): Promise<void> {
  const src = join(dir, name);
  await mkdir(join(src, "assets"), { recursive: true });
  await writeFile(join(src, "index.html"), html);
  await writeFile(join(src, "assets", "app.js"), "console.log('app');\n");
  if (link) await symlink("index.html", join(src, link));
  const out = join(dir, `${name}.tar.gz`);
  await createTar({ gzip: true, cwd: src, file: out }, ["."]);
  artifacts.set(name, await readFile(out));
}

function ctx(over: Partial<DeployContext> = {}, settings: Record<string, unknown> = {}, artifact = "v1"): DeployContext {
  return {
    deploymentId: "dep_1",
    projectId: "prj_sparki",
    stage: "production",
    commitSha: "abcdef1234567890",
    artifact: { url: `${artifactBase}/${artifact}.tar.gz`, kind: "directory", sha256: null, size: 0 },
    env: {},
    credentials: { VERCEL_TOKEN: TOKEN },
    settings: vercelAdapter.settings.parse({ projectName: "site", teamId: TEAM, apiUrl: fake.url, ...settings }),
    fetch,
    signal: AbortSignal.timeout(10_000),
    sleep,
    ...over,
  };
}

async function settle(c: DeployContext, id: string): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) {
    const s = await vercelAdapter.state(c, { id, url: null });
    seen.push(s);
    if (s !== "pending") break;
  }
  return seen;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sparki-vercel-"));
  await makeArtifact("v1", "<h1>one</h1>");
  await makeArtifact("v2", "<h1>two</h1>");
  await makeArtifact("linked", "<h1>linked</h1>", "home.html");
  artifactServer = createServer((req, res) => {
    const body = artifacts.get((req.url ?? "").replace(/^\/|\.tar\.gz$/g, ""));
    res.writeHead(body ? 200 : 404, { "content-type": "application/gzip" });
    res.end(body ?? "");
  });
  await new Promise<void>((resolve) => artifactServer.listen(0, "127.0.0.1", resolve));
  artifactBase = `http://127.0.0.1:${(artifactServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => artifactServer.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  slept.length = 0;
  fake = new FakeVercel(TOKEN);
  project = fake.addProject("site", TEAM);
  await fake.start();
});
afterEach(async () => {
  await fake.close();
});

describe("vercel adapter", () => {
  it("uploads every file by SHA-1, creates a production deployment, and goes pending then ready", async () => {
    const c = ctx();
    const d = await vercelAdapter.deploy(c);
    expect(d.url).toMatch(/^https:\/\/site-.*\.vercel\.app$/);

    const uploads = fake.requests.filter((r) => r.path === "/v2/files");
    const sha = (s: string): string => createHash("sha1").update(s).digest("hex");
    expect(uploads.map((u) => u.digest).sort()).toEqual([sha("<h1>one</h1>"), sha("console.log('app');\n")].sort());
    const create = fake.requests.find((r) => r.path === "/v13/deployments")!;
    expect(create.body).toMatchObject({ name: "site", project: project.id, target: "production" });
    expect((create.body as { files: { file: string }[] }).files.map((f) => f.file).sort()).toEqual(["assets/app.js", "index.html"]);
    for (const r of fake.requests) {
      expect(r.authorization).toBe(`Bearer ${TOKEN}`);
      expect(r.query.teamId).toBe(TEAM);
    }
    const seen = await settle(c, d.id);
    expect(seen[0]).toBe("pending");
    expect(seen.at(-1)).toBe("ready");
    expect(fake.serve(project.id, "index.html")?.toString()).toBe("<h1>one</h1>");
  });

  it("uploads the files of an artifact holding a symlink and passes the link over (Vercel takes files)", async () => {
    await vercelAdapter.deploy(ctx({}, {}, "linked"));
    const create = fake.requests.find((r) => r.path === "/v13/deployments");
    expect(((create?.body ?? { files: [] }) as { files: { file: string }[] }).files.map((f) => f.file).sort()).toEqual(["assets/app.js", "index.html"]);
  });

  it("reports failed when the deployment errors", async () => {
    fake.failNextDeployment();
    const d = await vercelAdapter.deploy(ctx());
    expect((await settle(ctx(), d.id)).at(-1)).toBe("failed");
  });

  it("re-uploads the files Vercel reports missing, then creates the deployment", async () => {
    fake.loseUploads(1);
    const d = await vercelAdapter.deploy(ctx());
    expect(fake.deployments.has(d.id)).toBe(true);
    const paths = fake.requests.map((r) => r.path);
    // upload, upload, create (missing_files), re-upload of the one lost, create.
    expect(paths.slice(-5)).toEqual(["/v2/files", "/v2/files", "/v13/deployments", "/v2/files", "/v13/deployments"]);
  });

  it("rolls back so the earlier deployment is live again", async () => {
    const one = await vercelAdapter.deploy(ctx());
    await settle(ctx(), one.id);
    const two = await vercelAdapter.deploy(ctx({}, {}, "v2"));
    await settle(ctx(), two.id);
    expect(project.liveDeploymentId).toBe(two.id);
    expect(fake.serve(project.id, "index.html")?.toString()).toBe("<h1>two</h1>");

    const back = await vercelAdapter.rollback(ctx(), one);
    expect(back.id).toBe(one.id);
    expect(project.liveDeploymentId).toBe(one.id);
    expect(fake.serve(project.id, "index.html")?.toString()).toBe("<h1>one</h1>");
    expect(fake.requests.at(-1)).toMatchObject({ method: "POST", path: `/v1/projects/${project.id}/rollback/${one.id}` });
  });

  it("validate reports a missing credential and an unknown project without creating anything", async () => {
    expect(await vercelAdapter.validate(ctx({ credentials: {} }))).toEqual(["missing credential VERCEL_TOKEN"]);
    expect(await vercelAdapter.validate(ctx({}, { projectName: "nope" }))).toEqual([expect.stringMatching(/vercel project nope not found.*Project not found/)]);
    // The project exists, but not in the personal scope: teamId matters.
    expect(await vercelAdapter.validate(ctx({}, { teamId: undefined }))).toHaveLength(1);
    expect(await vercelAdapter.validate(ctx())).toEqual([]);
    expect(fake.requests.every((r) => r.method === "GET")).toBe(true);
    expect(fake.deployments.size).toBe(0);
    expect(fake.blobs.size).toBe(0);
  });

  it("validate reports an unreachable API and settings without a project", async () => {
    expect((await vercelAdapter.validate(ctx({}, { apiUrl: "http://127.0.0.1:9" })))[0]).toMatch(/unreachable/);
    const c = ctx();
    c.settings = { teamId: TEAM };
    expect((await vercelAdapter.validate(c))[0]).toMatch(/projectName or projectId is required/);
  });

  it("a wrong token is a 403 PlatformError that is not retryable", async () => {
    const e = await vercelAdapter.deploy(ctx({ credentials: { VERCEL_TOKEN: "wrong" } })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PlatformError);
    expect(e).toMatchObject({ platform: "vercel", status: 403, retryable: false });
    expect((e as Error).message).toContain("Not authorized [forbidden]");
  });

  it("429 and 500 that last are retryable PlatformErrors, with the platform's Retry-After", async () => {
    fake.failNext(429, { times: MAX_ATTEMPTS, retryAfter: 30 });
    const limited = await vercelAdapter.deploy(ctx()).catch((x: unknown) => x);
    expect(limited).toMatchObject({ status: 429, retryable: true, retryAfterMs: 30_000 });
    expect((limited as Error).message).toContain("retry after 30s");
    fake.failNext(500, { times: MAX_ATTEMPTS });
    expect(await vercelAdapter.state(ctx(), { id: "dpl_x", url: null }).catch((x: unknown) => x)).toMatchObject({ status: 500, retryable: true });
  });

  it("a 429 with Retry-After on the create is waited out and sent again: the platform refused it before acting", async () => {
    fake.failNext(429, { on: "POST /v13/deployments", retryAfter: 3 });
    const d = await vercelAdapter.deploy(ctx());
    expect(fake.deployments.size).toBe(1);
    expect(fake.deployments.has(d.id)).toBe(true);
    expect(fake.requests.filter((r) => r.path === "/v13/deployments")).toHaveLength(2);
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThanOrEqual(3000);
  });

  it("a 503 on the create is not sent again, so no second deployment: it is retryable for the orchestrator to decide", async () => {
    fake.failNext(503, { on: "POST /v13/deployments", times: MAX_ATTEMPTS });
    const err = await vercelAdapter.deploy(ctx()).catch((x: unknown) => x);
    expect(err).toMatchObject({ status: 503, retryable: true });
    expect(fake.requests.filter((r) => r.path === "/v13/deployments")).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  it("uploads and reads are retried after a 503 and the deploy goes through", async () => {
    fake.failNext(503, { on: "POST /v2/files", times: 2 });
    const d = await vercelAdapter.deploy(ctx());
    expect(slept).toHaveLength(2);
    fake.failNext(503);
    expect((await settle(ctx(), d.id)).at(-1)).toBe("ready");
    expect(slept).toHaveLength(3);
    expect(fake.serve(project.id, "index.html")?.toString()).toBe("<h1>one</h1>");
  });

  it("a 400 is not retried", async () => {
    fake.failNext(400, { times: MAX_ATTEMPTS });
    const err = await vercelAdapter.state(ctx(), { id: "dpl_x", url: null }).catch((x: unknown) => x);
    expect(err).toMatchObject({ status: 400, retryable: false });
    expect(fake.requests).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  it("an unreachable API is a retryable PlatformError after every attempt", async () => {
    const err = await vercelAdapter.state(ctx({}, { apiUrl: "http://127.0.0.1:9" }), { id: "dpl_x", url: null }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ status: 0, retryable: true });
    expect(slept).toHaveLength(MAX_ATTEMPTS - 1);
  });
});
