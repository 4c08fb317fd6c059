/**
 * Attacks on a project's GitLab webhook (`POST /v1/integrations/gitlab/webhook/:projectId`), which
 * takes no login: the secret token is its only gate. A missing or wrong token, another project's
 * token, an unknown or unlinked project: one 401 that tells nothing, nothing stored, nothing
 * started. A redelivery starts nothing; a payload naming another GitLab project is refused even
 * with the right token; the link's tokens never come back from the API.
 */
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { builds, webhookDeliveries } from "../../server/db/schema.js";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import { withDb } from "../../workers/testing/deploy.js";
import { deliverTo, linkGitLab, pushOf, sha } from "../../workers/testing/gitlab.js";
import type { HookProject } from "../fakes/gitlab-hooks.ts";

let owner: TestUser;
let projectId: string;
let token: string;
let gitlab: HookProject;
let otherId: string;
let otherToken: string;
let otherGitlab: HookProject;
let unlinkedId: string;

beforeAll(async () => {
  owner = await signup("gl-attacks");
  const workspaceId = (await createWorkspace(owner)).id;
  projectId = (await createProject(owner, workspaceId)).id;
  ({ token, gitlab } = await linkGitLab(projectId));
  otherId = (await createProject(owner, workspaceId)).id;
  ({ token: otherToken, gitlab: otherGitlab } = await linkGitLab(otherId));
  unlinkedId = (await createProject(owner, workspaceId)).id;
});

async function nothingStored(id: string): Promise<void> {
  await withDb(async (db) => {
    expect(await db.select({ id: builds.id }).from(builds).where(eq(builds.projectId, id))).toEqual([]);
    expect(await db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(eq(webhookDeliveries.projectId, id))).toEqual([]);
  });
}

const shape = (res: { status: number; body: any }) => ({ status: res.status, type: res.body?.type, title: res.body?.title, detail: res.body?.detail });

describe("GitLab webhook: refusals", () => {
  it("refuses a missing token with 401 and stores nothing", async () => {
    const res = await deliverTo(projectId, pushOf(gitlab, "refs/heads/main", sha("a")));
    expect(res.status).toBe(401);
    expect(res.body.type).toContain("unauthenticated");
    await nothingStored(projectId);
  });

  it("gives one identical 401 for a wrong token, another project's token, an unlinked project, an unknown one and a malformed id", async () => {
    const payload = pushOf(gitlab, "refs/heads/main", sha("a"));
    const answers = [
      await deliverTo(projectId, payload, { token: "0".repeat(64) }),
      await deliverTo(projectId, payload, { token: otherToken }),
      await deliverTo(projectId, payload, { token: `${token}x` }),
      await deliverTo(projectId, payload, { token: token.toUpperCase() }),
      await deliverTo(unlinkedId, payload, { token }),
      await deliverTo(crypto.randomUUID(), payload, { token }),
      await deliverTo("not-a-uuid", payload, { token }),
    ];
    for (const res of answers) expect(shape(res)).toEqual(shape(answers[0] as (typeof answers)[0]));
    expect(answers[0]?.status).toBe(401);
    await nothingStored(projectId);
    await nothingStored(unlinkedId);
  });

  it("refuses a delivery whose payload names another GitLab project, even with the right token", async () => {
    const res = await deliverTo(projectId, pushOf(otherGitlab, "refs/heads/main", sha("b")), { token });
    expect(res.status).toBe(400);
    await nothingStored(projectId);
    await nothingStored(otherId);
  });

  it("refuses headless and malformed deliveries with 4xx after the token, never a 5xx", async () => {
    const payload = pushOf(gitlab, "refs/heads/main", sha("c"));
    const cases = [
      await deliverTo(projectId, payload, { token, rawBody: "{not json" }),
      await deliverTo(projectId, payload, { token, legacy: true, eventUuid: "bad id with spaces" }),
      await deliverTo(projectId, { ...payload, after: "not-a-sha" }, { token }),
      await deliverTo(projectId, payload, { token, event: "Merge Request Hook" }),
    ];
    for (const res of cases) expect(res.status, res.text).toBe(400);
    await nothingStored(projectId);
  });
});

describe("GitLab webhook: redelivery", () => {
  it("starts one build for a delivery sent again, and for six concurrent copies", async () => {
    const id = (await createProject(owner, (await createWorkspace(owner, "Dup")).id)).id;
    const link = await linkGitLab(id);
    const payload = pushOf(link.gitlab, "refs/heads/main", sha("d"));
    const key = crypto.randomUUID();
    const answers = await Promise.all(Array.from({ length: 6 }, () => deliverTo(id, payload, { token: link.token, idempotencyKey: key })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 202]);
    const later = await deliverTo(id, payload, { token: link.token, idempotencyKey: key });
    expect(later.body).toMatchObject({ duplicate: true, outcome: "started" });
    // Older GitLab (no Idempotency-Key): the event UUID is the delivery id.
    const uuid = crypto.randomUUID();
    const legacy = pushOf(link.gitlab, "refs/heads/main", sha("e"));
    expect((await deliverTo(id, legacy, { token: link.token, legacy: true, eventUuid: uuid })).status).toBe(202);
    expect((await deliverTo(id, legacy, { token: link.token, legacy: true, eventUuid: uuid })).status).toBe(200);
    const rows = await withDb((db) => db.select({ sha: builds.commitSha }).from(builds).where(eq(builds.projectId, id)));
    expect(rows.map((r) => r.sha).sort()).toEqual([sha("d"), sha("e")]);
  });

  it("keeps one project's delivery ids apart from another's: the same id still builds elsewhere", async () => {
    const key = crypto.randomUUID();
    const a = await deliverTo(projectId, pushOf(gitlab, "refs/heads/x", sha("f")), { token, idempotencyKey: key });
    const b = await deliverTo(otherId, pushOf(otherGitlab, "refs/heads/x", sha("f")), { token: otherToken, idempotencyKey: key });
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.buildId).not.toBe(b.body.buildId);
  });
});

describe("GitLab link: secrets stay sealed", () => {
  it("never returns the webhook token or the access token", async () => {
    const res = await call("GET", `/v1/projects/${projectId}/gitlab`, { token: owner.accessToken });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(token);
    expect(res.text).not.toContain("glpat-");
    expect(Object.keys(res.body).sort()).toEqual(["createdAt", "deliveries", "gitlabProjectId", "linked", "path", "updatedAt", "webhookUrl"]);
  });
});
