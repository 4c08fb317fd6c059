import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";

const nextManifest = {
  name: "acme-web",
  private: true,
  scripts: { dev: "next dev", build: "next build", start: "next start", lint: "next lint" } as Record<string, string>,
  dependencies: { next: "14.2.5", react: "18.3.1", "react-dom": "18.3.1" },
};
const nextPackage = JSON.stringify(nextManifest);
const lockfile = JSON.stringify({ name: "acme-web", lockfileVersion: 3, packages: {} });
const nextFiles = [
  { path: "package.json", content: nextPackage },
  { path: "package-lock.json", content: lockfile },
  { path: "next.config.mjs", content: "export default {};\n" },
];

let owner: TestUser;
let workspaceId: string;
beforeAll(async () => {
  owner = await signup("pipelines");
  workspaceId = (await createWorkspace(owner)).id;
});

async function putYaml(token: string, projectId: string, text: string) {
  const res = await SELF.fetch(`http://sparki.test/v1/projects/${projectId}/pipeline`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/yaml" },
    body: text,
  });
  return { status: res.status, body: (await res.json()) as any };
}

const buildCommands = (configuration: any): string[] =>
  configuration.jobs.filter((j: any) => j.stage === "build").flatMap((j: any) => j.steps.map((s: any) => s.run));

describe("detect and pipeline versions", () => {
  it("detects a Next.js app, writes version 1, and keeps it while nothing changes", async () => {
    const project = await createProject(owner, workspaceId);
    const first = await call("POST", `/v1/projects/${project.id}/detect`, { token: owner.accessToken, body: { files: nextFiles } });
    expect(first.status, first.text).toBe(201);
    expect(first.body.detection).toMatchObject({ language: "javascript", framework: "nextjs", packageManager: "npm", outputDir: ".next" });
    expect(first.body.pipeline).toMatchObject({ version: 1, source: "detect", sparkiYml: null });
    expect(first.body.created).toBe(true);
    expect(buildCommands(first.body.pipeline.configuration)).toEqual(["npm ci", "npm run build"]);

    // The same snapshot in another order is the same pipeline: no new version.
    const again = await call("POST", `/v1/projects/${project.id}/detect`, { token: owner.accessToken, body: { files: [...nextFiles].reverse() } });
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);
    expect(again.body.pipeline.version).toBe(1);
    expect(again.body.pipeline.contentHash).toBe(first.body.pipeline.contentHash);

    const got = await call("GET", `/v1/projects/${project.id}`, { token: owner.accessToken });
    expect(got.body).toMatchObject({ framework: "nextjs", language: "javascript" });
  });

  it("writes a new version when the inputs change, and keeps the history", async () => {
    const project = await createProject(owner, workspaceId);
    await call("POST", `/v1/projects/${project.id}/detect`, { token: owner.accessToken, body: { files: nextFiles } });
    // A test script adds a test job: the pipeline changes.
    const withTests = JSON.stringify({ ...nextManifest, scripts: { ...nextManifest.scripts, test: "vitest run" } });
    const changed = nextFiles.map((f) => (f.path === "package.json" ? { ...f, content: withTests } : f));
    const second = await call("POST", `/v1/projects/${project.id}/detect`, { token: owner.accessToken, body: { files: changed } });
    expect(second.status).toBe(201);
    expect(second.body.pipeline.version).toBe(2);
    expect(second.body.pipeline.configuration.jobs.map((j: { id: string }) => j.id)).toContain("test");

    const current = await call("GET", `/v1/projects/${project.id}/pipeline`, { token: owner.accessToken });
    expect(current.body.version).toBe(2);
    const versions = await call("GET", `/v1/projects/${project.id}/pipeline/versions?limit=1`, { token: owner.accessToken });
    expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([2]);
    const older = await call("GET", `/v1/projects/${project.id}/pipeline/versions?limit=1&cursor=${versions.body.nextCursor}`, { token: owner.accessToken });
    expect(older.body).toMatchObject({ items: [{ version: 1, source: "detect" }], nextCursor: null });
    const v1 = await call("GET", `/v1/projects/${project.id}/pipeline/versions/1`, { token: owner.accessToken });
    expect(v1.body.version).toBe(1);
    expect(v1.body.contentHash).not.toBe(current.body.contentHash);
    expectProblem(await call("GET", `/v1/projects/${project.id}/pipeline/versions/9`, { token: owner.accessToken }), 404);
  });

  it("says there is no pipeline before the first detection", async () => {
    const project = await createProject(owner, workspaceId);
    const res = await call("GET", `/v1/projects/${project.id}/pipeline`, { token: owner.accessToken });
    expectProblem(res, 404);
    expect(res.body.detail).toMatch(/no pipeline yet/);
  });

  it("applies a PUT sparki.yml over the latest detection, field by field", async () => {
    const project = await createProject(owner, workspaceId);
    await call("POST", `/v1/projects/${project.id}/detect`, { token: owner.accessToken, body: { files: nextFiles } });
    const put = await putYaml(owner.accessToken, project.id, "commands:\n  build: npm run build:prod\n");
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ version: 2, source: "sparki.yml", sparkiYml: "commands:\n  build: npm run build:prod\n" });
    // The build command is overridden; the install command, not overridden, stays as detected.
    expect(buildCommands(put.body.configuration)).toEqual(["npm ci", "npm run build:prod"]);
    expect((await putYaml(owner.accessToken, project.id, "commands:\n  build: npm run build:prod\n")).status).toBe(200);
  });

  it("reports sparki.yml errors with line and column", async () => {
    const project = await createProject(owner, workspaceId);
    const bad = await putYaml(owner.accessToken, project.id, "commands:\n  build: ok\n  deploy: nope\n");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].pointer).toMatch(/^sparki\.yml:3:\d+/);
    const broken = await putYaml(owner.accessToken, project.id, "commands: [unclosed\n");
    expect(broken.status).toBe(400);
    expect(broken.body.errors[0].pointer).toMatch(/^sparki\.yml:\d+:\d+/);
    const inDetect = await call("POST", `/v1/projects/${project.id}/detect`, {
      token: owner.accessToken,
      body: { files: [...nextFiles, { path: "sparki.yml", content: "framework: 12\n" }] },
    });
    expectProblem(inDetect, 400, "validation");
    expect(inDetect.body.errors[0].pointer).toMatch(/^sparki\.yml:1:\d+/);
  });
});

describe("snapshot limits", () => {
  it("refuses too many files, oversized files, odd paths and duplicates", async () => {
    const project = await createProject(owner, workspaceId);
    const url = `/v1/projects/${project.id}/detect`;
    const many = Array.from({ length: 501 }, (_, i) => ({ path: `f${i}.txt`, content: "" }));
    const tooMany = await call("POST", url, { token: owner.accessToken, body: { files: many } });
    expectProblem(tooMany, 400, "validation");
    expect(tooMany.body.errors[0]).toMatchObject({ pointer: "body.files" });
    const huge = await call("POST", url, { token: owner.accessToken, body: { files: [{ path: "package.json", content: "x".repeat(300 * 1024) }] } });
    expectProblem(huge, 413, "payload_too_large");
    expect(huge.body.errors[0].pointer).toBe("body.files.0.content");
    for (const path of ["../etc/passwd", "/abs", "a//b", "a\\b"]) {
      expectProblem(await call("POST", url, { token: owner.accessToken, body: { files: [{ path, content: "" }] } }), 400, "validation");
    }
    const dup = await call("POST", url, { token: owner.accessToken, body: { files: [nextFiles[0], nextFiles[0]] } });
    expectProblem(dup, 400, "validation");
  });
});

describe("who may change pipelines", () => {
  it("lets developers detect and viewers only read", async () => {
    const project = await createProject(owner, workspaceId);
    const dev = await signup("dev");
    const viewer = await signup("viewer");
    await addMember(owner, workspaceId, dev, "developer");
    await addMember(owner, workspaceId, viewer, "viewer");
    expect((await call("POST", `/v1/projects/${project.id}/detect`, { token: dev.accessToken, body: { files: nextFiles } })).status).toBe(201);
    expectProblem(await call("POST", `/v1/projects/${project.id}/detect`, { token: viewer.accessToken, body: { files: nextFiles } }), 403);
    expect((await putYaml(viewer.accessToken, project.id, "commands:\n  build: x\n")).status).toBe(403);
    expect((await call("GET", `/v1/projects/${project.id}/pipeline`, { token: viewer.accessToken })).status).toBe(200);
  });
});
