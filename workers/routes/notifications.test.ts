/**
 * Notification channels through the API inside workerd: who may add, change, test and read them,
 * that a channel's URL and signing key never come back, that another workspace sees nothing, bad
 * input as problem+json; and the queue path: build and deployment events become deliveries (once
 * per occurrence), each attempt going through the real queue to a real HTTP answer (the cache
 * shim's 401, a 4xx that is not retried) recorded in the delivery log.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { until } from "../../test/until.js";
import { builds, deployments, releases } from "../../server/db/schema.js";
import worker from "../index.js";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { withDb } from "../testing/deploy.js";

let owner: TestUser;
let admin: TestUser;
let developer: TestUser;
let viewer: TestUser;
let outsider: TestUser;
let workspaceId: string;

beforeAll(async () => {
  [owner, admin, developer, viewer, outsider] = await Promise.all([signup("notify"), signup("admin"), signup("dev"), signup("viewer"), signup("outsider")]);
  workspaceId = (await createWorkspace(owner)).id;
  await createWorkspace(outsider, "Elsewhere");
  await addMember(owner, workspaceId, admin, "admin");
  await addMember(owner, workspaceId, developer, "developer");
  await addMember(owner, workspaceId, viewer, "viewer");
});

const secretPath = "/services/T000/B000/XXXXsecretXXXX";
const add = (user: TestUser, projectId: string, body: Record<string, unknown>) =>
  call("POST", `/v1/projects/${projectId}/notifications`, { token: user.accessToken, body });
const deliveries = async (projectId: string, channelId: string) =>
  (await call("GET", `/v1/projects/${projectId}/notifications/${channelId}/deliveries`, { token: viewer.accessToken })).body.items as any[];

describe("managing channels", () => {
  it("shows a webhook's signing key once and never the URL past its host", async () => {
    const project = await createProject(owner, workspaceId);
    const created = await add(admin, project.id, { kind: "webhook", url: `https://hooks.example.com${secretPath}?token=abc`, events: ["build.failed"] });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ kind: "webhook", urlHint: "https://hooks.example.com", events: ["build.failed"], enabled: true });
    expect(created.body.signingSecret).toMatch(/^snk_[A-Za-z0-9_-]{43}$/);
    expect(created.text).not.toContain("secret");

    const slack = await add(owner, project.id, { kind: "slack", name: "#builds", url: `https://hooks.slack.com${secretPath}` });
    expect(slack.status, slack.text).toBe(201);
    expect(slack.body).toMatchObject({ signingSecret: null, events: ["build.failed", "build.fixed", "deployment.rolled_back", "approval.waiting"] });

    const listed = await call("GET", `/v1/projects/${project.id}/notifications`, { token: viewer.accessToken });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items.map((c: { name: string }) => c.name)).toEqual(["webhook hooks.example.com", "#builds"]);
    expect(listed.text).not.toContain("XXXXsecret");
    expect(listed.text).not.toContain(created.body.signingSecret);

    const audit = await call("GET", `/v1/workspaces/${workspaceId}/audit-logs`, { token: owner.accessToken });
    expect(audit.body.items.some((e: any) => e.action === "notification_channel.create" && e.resourceId === project.id)).toBe(true);
    expect(audit.text).not.toContain("XXXXsecret");
  });

  it("takes an owner or admin to add, change, test or remove; members read", async () => {
    const project = await createProject(owner, workspaceId);
    const channel = (await add(owner, project.id, { kind: "webhook", url: "https://hooks.example.com/x" })).body;
    const base = `/v1/projects/${project.id}/notifications`;
    for (const user of [developer, viewer]) {
      expectProblem(await add(user, project.id, { kind: "webhook", url: "https://hooks.example.com/y" }), 403, "forbidden");
      expectProblem(await call("PATCH", `${base}/${channel.id}`, { token: user.accessToken, body: { enabled: false } }), 403, "forbidden");
      expectProblem(await call("POST", `${base}/${channel.id}/test`, { token: user.accessToken }), 403, "forbidden");
      expectProblem(await call("DELETE", `${base}/${channel.id}`, { token: user.accessToken }), 403, "forbidden");
      expect((await call("GET", `${base}/${channel.id}/deliveries`, { token: user.accessToken })).status).toBe(200);
    }
    const patched = await call("PATCH", `${base}/${channel.id}`, { token: admin.accessToken, body: { enabled: false, events: ["approval.waiting"] } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ enabled: false, events: ["approval.waiting"] });
    expect((await call("DELETE", `${base}/${channel.id}`, { token: admin.accessToken })).status).toBe(204);
    expectProblem(await call("DELETE", `${base}/${channel.id}`, { token: admin.accessToken }), 404, "not_found");
  });

  it("is invisible to another workspace: 404 on every route, nothing changed", async () => {
    const project = await createProject(owner, workspaceId);
    const channel = (await add(owner, project.id, { kind: "webhook", url: "https://hooks.example.com/x" })).body;
    const base = `/v1/projects/${project.id}/notifications`;
    expectProblem(await add(outsider, project.id, { kind: "webhook", url: "https://hooks.example.com/y" }), 404, "not_found");
    expectProblem(await call("GET", base, { token: outsider.accessToken }), 404, "not_found");
    expectProblem(await call("PATCH", `${base}/${channel.id}`, { token: outsider.accessToken, body: { enabled: false } }), 404, "not_found");
    expectProblem(await call("GET", `${base}/${channel.id}/deliveries`, { token: outsider.accessToken }), 404, "not_found");
    expectProblem(await call("POST", `${base}/${channel.id}/test`, { token: outsider.accessToken }), 404, "not_found");
    expectProblem(await call("DELETE", `${base}/${channel.id}`, { token: outsider.accessToken }), 404, "not_found");
    // A channel id of one project is not reachable through another project the caller can see.
    const other = await createProject(outsider, (await createWorkspace(outsider, "Third")).id);
    expectProblem(await call("GET", `/v1/projects/${other.id}/notifications/${channel.id}/deliveries`, { token: outsider.accessToken }), 404, "not_found");
    expect((await call("GET", base, { token: owner.accessToken })).body.items).toEqual([expect.objectContaining({ id: channel.id, enabled: true })]);
  });

  it.each([
    [{ kind: "email", url: "https://hooks.example.com/x" }, "body.kind"],
    [{ kind: "webhook", url: "https://169.254.169.254/latest/meta-data/" }, "body.url"],
    [{ kind: "slack", url: "https://metadata.google.internal/computeMetadata/v1/" }, "body.url"],
    [{ kind: "webhook", url: "https://user:pw@hooks.example.com/x" }, "body.url"],
    [{ kind: "webhook", url: "javascript:alert(1)" }, "body.url"],
    [{ kind: "webhook", url: "https://hooks.example.com/x", events: [] }, "body.events"],
    [{ kind: "webhook", url: "https://hooks.example.com/x", events: ["build.started"] }, "body.events.0"],
    [{ kind: "webhook", url: "https://hooks.example.com/x", secret: "mine" }, "body"],
  ])("refuses %j with a 400 problem at %s", async (body, pointer) => {
    const project = await createProject(owner, workspaceId);
    const res = await add(owner, project.id, body);
    expectProblem(res, 400, "validation");
    expect(res.body.errors.map((e: { pointer: string }) => e.pointer).join(" ")).toContain(pointer);
    expect((await call("GET", `/v1/projects/${project.id}/notifications`, { token: owner.accessToken })).body.items).toEqual([]);
  });

  it("documents every route in the OpenAPI document", async () => {
    const doc = (await call("GET", "/v1/openapi.json")).body;
    expect(Object.keys(doc.paths["/v1/projects/{id}/notifications"]).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/v1/projects/{id}/notifications/{channelId}"]).sort()).toEqual(["delete", "patch"]);
    expect(Object.keys(doc.paths["/v1/projects/{id}/notifications/{channelId}/deliveries"])).toEqual(["get"]);
    expect(Object.keys(doc.paths["/v1/projects/{id}/notifications/{channelId}/test"])).toEqual(["post"]);
  });
});

/** A channel at the cache shim, which answers 401 to anyone without its token: a real answer a channel may give. */
async function shimChannel(projectId: string, events?: string[]) {
  const res = await add(owner, projectId, { kind: "webhook", url: `${env.UPSTASH_REDIS_REST_URL}/hook`, ...(events ? { events } : {}) });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

async function consume(body: Record<string, unknown>) {
  const batch = createMessageBatch("sparki-events", [
    { id: "m", timestamp: new Date(), attempts: 1, body: { correlationId: "c", occurredAt: new Date().toISOString(), ...body } },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("from queue events to the delivery log", () => {
  it("a failed build is one delivery per channel, attempted through the queue; a 4xx is not retried", async () => {
    const project = await createProject(owner, workspaceId);
    const channelId = await shimChannel(project.id, ["build.failed"]);
    const fixedOnly = await shimChannel(project.id, ["build.fixed"]);
    const buildId = await withDb(
      async (db) =>
        (await db.insert(builds).values({ projectId: project.id, number: 1, branch: "main", status: "failed", trigger: "api" }).returning())[0]?.id ?? "",
    );
    for (let i = 0; i < 2; i++)
      expect((await consume({ type: "build.completed", buildId, projectId: project.id, status: "failed" })).explicitAcks).toEqual(["m"]);

    const [done] = await until("the delivery's attempt", async () => {
      const items = await deliveries(project.id, channelId);
      return items.length === 1 && items[0].status !== "pending" && items;
    });
    expect(done).toMatchObject({ event: "build.failed", status: "failed", attempts: 1, responseStatus: 401, error: expect.stringMatching(/^HTTP 401/) });
    expect(await deliveries(project.id, fixedOnly)).toEqual([]);
  });

  it("a green build after a red one of its branch is build.fixed; after a green one, nothing", async () => {
    const project = await createProject(owner, workspaceId);
    const channelId = await shimChannel(project.id);
    const ids = await withDb(async (db) =>
      (
        await db
          .insert(builds)
          .values([
            { projectId: project.id, number: 1, branch: "main", status: "failed", trigger: "api" },
            { projectId: project.id, number: 2, branch: "other", status: "succeeded", trigger: "api" },
            { projectId: project.id, number: 3, branch: "main", status: "cancelled", trigger: "api" },
            { projectId: project.id, number: 4, branch: "main", status: "succeeded", trigger: "api" },
            { projectId: project.id, number: 5, branch: "main", status: "succeeded", trigger: "api" },
          ])
          .returning()
      ).map((b) => b.id),
    );
    await consume({ type: "build.completed", buildId: ids[3], projectId: project.id, status: "succeeded" });
    await consume({ type: "build.completed", buildId: ids[4], projectId: project.id, status: "succeeded" });
    const items = await until("the build.fixed delivery", async () => {
      const found = await deliveries(project.id, channelId);
      return found.length > 0 && found;
    });
    expect(items.map((d: { event: string }) => d.event)).toEqual(["build.fixed"]);
  });

  it("a deployment waiting at a gated stage and one rolled back notify; a disabled channel gets nothing", async () => {
    const project = await createProject(owner, workspaceId);
    const channelId = await shimChannel(project.id, ["approval.waiting", "deployment.rolled_back"]);
    const off = await shimChannel(project.id);
    await call("PATCH", `/v1/projects/${project.id}/notifications/${off}`, { token: owner.accessToken, body: { enabled: false } });
    const releaseId = await withDb(async (db) => {
      const [b] = await db.insert(builds).values({ projectId: project.id, number: 1, branch: "main", status: "succeeded", trigger: "api" }).returning();
      const [r] = await db
        .insert(releases)
        .values({ projectId: project.id, buildId: b?.id ?? "", status: "awaiting_approval", trigger: "manual" })
        .returning();
      await db.insert(deployments).values([
        { releaseId: r?.id, projectId: project.id, buildId: b?.id, position: 0, stage: "staging", status: "healthy" },
        { releaseId: r?.id, projectId: project.id, buildId: b?.id, position: 1, stage: "production", status: "waiting", approval: true },
      ]);
      return r?.id ?? "";
    });
    await consume({ type: "deployment.changed", releaseId, projectId: project.id });
    await consume({ type: "deployment.changed", releaseId, projectId: project.id });
    await until("the approval delivery", async () => (await deliveries(project.id, channelId)).length === 1);

    await withDb(async (db) => {
      await db.update(releases).set({ status: "rolled_back", reason: "health check failed" }).where(eq(releases.id, releaseId));
      await db
        .update(deployments)
        .set({ status: "rolled_back" })
        .where(and(eq(deployments.releaseId, releaseId), eq(deployments.stage, "staging")));
    });
    await consume({ type: "deployment.changed", releaseId, projectId: project.id });
    const items = await until("the rollback delivery", async () => {
      const found = await deliveries(project.id, channelId);
      return found.length === 2 && found;
    });
    expect(items.map((d: { event: string }) => d.event)).toEqual(["deployment.rolled_back", "approval.waiting"]);
    expect(await deliveries(project.id, off)).toEqual([]);
  });

  it("a test sends a ping through the queue and logs it", async () => {
    const project = await createProject(owner, workspaceId);
    const channelId = await shimChannel(project.id);
    const res = await call("POST", `/v1/projects/${project.id}/notifications/${channelId}/test`, { token: owner.accessToken });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ event: "ping", status: "pending", attempts: 0 });
    const [done] = await until("the ping's attempt", async () => {
      const items = await deliveries(project.id, channelId);
      return items[0]?.status === "failed" && items;
    });
    expect(done).toMatchObject({ id: res.body.id, responseStatus: 401 });
  });
});
