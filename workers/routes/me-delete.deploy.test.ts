/**
 * Deleting an account removes the person from the deployments they approved, cancelled or rolled
 * back (issue 16 item 5). While the account exists, the API's view, the event history and the
 * events socket show them by email; once it is deleted, nothing Sparki serves or stores about
 * those deployments holds their email: the orchestrator keeps user ids, shown by email when a
 * view leaves (server/objects/deployment-orchestrator/people.ts), and Postgres keeps the id
 * under a foreign key that the deletion sets to null.
 */
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { deploymentOrchestrator } from "../../server/objects/clients.js";
import type { Meta } from "../../server/objects/deployment-orchestrator/protocol.js";
import { deploymentEvents, deployments, releases } from "../../server/db/schema.js";
import { addMember, call, createProject, createWorkspace, signup, type TestUser } from "../testing/api.js";
import { builtSite, deploymentWhen, siteVersion, withDb } from "../testing/deploy.js";

let owner: TestUser;
let workspaceId: string;

beforeAll(async () => {
  owner = await signup("leaver-owner");
  workspaceId = (await createWorkspace(owner, "Leavers")).id;
});

/** An approver who is an admin of the workspace. */
async function approverJoins(tag: string): Promise<TestUser> {
  const approver = await signup(tag);
  await addMember(owner, workspaceId, approver, "admin");
  return approver;
}

/** A deployment of `version` to a production stage that waits for an approval, once it waits. */
async function waiting(projectId: string, version: string): Promise<string> {
  const buildId = await builtSite(projectId, siteVersion(version), [{ stage: "production", platform: "sparki-static", approval: true }]);
  const res = await call("POST", `/v1/builds/${buildId}/deploy`, { token: owner.accessToken });
  expect(res.status, res.text).toBe(201);
  await deploymentWhen(owner, res.body.id, (d) => d.status === "awaiting_approval");
  return res.body.id;
}

async function act(user: TestUser, id: string, what: "approve" | "cancel" | "rollback") {
  const res = await call("POST", `/v1/deployments/${id}/${what}`, { token: user.accessToken });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

const view = async (id: string) => {
  const res = await call("GET", `/v1/deployments/${id}`, { token: owner.accessToken });
  expect(res.status, res.text).toBe(200);
  return { body: res.body, text: res.text };
};
const messages = (d: { events: { message: string }[] }) => d.events.map((e) => e.message);

/** The first frame the events socket sends a new viewer: the last event and the deployment. */
async function firstFrame(id: string): Promise<string> {
  const res = await SELF.fetch(`http://sparki.test/v1/deployments/${id}/events`, {
    headers: { upgrade: "websocket", authorization: `Bearer ${owner.accessToken}` },
  });
  expect(res.status).toBe(101);
  const ws = res.webSocket;
  if (!ws) throw new Error("no socket");
  const frame = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(String(e.data)), { once: true }));
  ws.accept();
  try {
    return await frame;
  } finally {
    ws.close();
  }
}

/** What Postgres holds about the releases: their rows, their stage rows, their events. */
const rowsOf = (ids: string[]) =>
  withDb(async (db) => ({
    releases: await db.select().from(releases).where(inArray(releases.id, ids)),
    stages: await db.select().from(deployments).where(inArray(deployments.releaseId, ids)),
    events: await db.select().from(deploymentEvents).where(inArray(deploymentEvents.releaseId, ids)),
  }));

/** Everything the release's orchestrator stores: its state and its event history. */
const storageOf = (id: string) =>
  runInDurableObject(deploymentOrchestrator(env, id), async (_object, state) =>
    JSON.stringify([await state.storage.get("meta"), state.storage.sql.exec("select * from events").toArray()]),
  );

describe("deleting an account removes its email from the deployments", () => {
  it("shows the approver by email while the account exists; once it is deleted no view, event, frame, row, object or export holds it", {
    timeout: 120_000,
  }, async () => {
    const approver = await approverJoins("leaver");
    const projectId = (await createProject(owner, workspaceId)).id;
    // Approved and live; approved, then rolled back by hand; cancelled while it waits.
    const first = await waiting(projectId, "one");
    expect((await act(approver, first, "approve")).stages[0]).toMatchObject({ approvedBy: { id: approver.id, email: approver.email } });
    await deploymentWhen(owner, first, (d) => d.status === "succeeded");
    const second = await waiting(projectId, "two");
    await act(approver, second, "approve");
    await deploymentWhen(owner, second, (d) => d.status === "succeeded");
    await act(approver, second, "rollback");
    await deploymentWhen(owner, second, (d) => d.status === "rolled_back");
    const third = await waiting(projectId, "three");
    await act(approver, third, "cancel");
    const all = [first, second, third];

    // While the account exists: by email in the view, its event history and the socket's frames.
    const [one, two, three] = await Promise.all(all.map(view));
    expect(one?.body.stages[0]).toMatchObject({ approvedBy: { id: approver.id, email: approver.email }, approvedAt: expect.any(String) });
    expect(messages(one?.body)).toContain(`approved by ${approver.email}`);
    expect(messages(two?.body)).toContain(`rollback requested by ${approver.email}`);
    expect(two?.body.reason).toBe("rolled back by hand");
    expect(messages(three?.body)).toContain(`cancelled by ${approver.email}`);
    expect(await firstFrame(first)).toContain(`approved by ${approver.email}`);
    // Postgres and the objects keep the person by id only, even now.
    await expect
      .poll(async () => (await rowsOf(all)).events.filter((e) => e.actorId === approver.id).map((e) => `${e.type}: ${e.message}`), { timeout: 15_000 })
      .toEqual(expect.arrayContaining(["approved: approved", "approved: approved", "rollback_requested: rollback requested", "cancel_requested: cancelled"]));
    await expect
      .poll(async () => (await rowsOf(all)).releases.map((r) => r.status).sort(), { timeout: 15_000 })
      .toEqual(["cancelled", "rolled_back", "succeeded"]);
    expect(JSON.stringify(await rowsOf(all))).not.toContain(approver.email);
    for (const id of all) expect(await storageOf(id)).not.toContain(approver.email);

    const deleted = await call("DELETE", "/v1/me", { token: approver.accessToken, body: { password: approver.password } });
    expect(deleted.status, deleted.text).toBe(204);

    const after = await Promise.all(all.map(view));
    for (const shown of after) {
      expect(shown.text).not.toContain(approver.email);
      expect(shown.text).not.toContain(approver.id);
    }
    expect(after[0]?.body.stages[0]).toMatchObject({ approvedBy: null, approvedAt: one?.body.stages[0].approvedAt });
    expect(messages(after[0]?.body)).toContain("approved by a deleted user");
    expect(messages(after[1]?.body)).toContain("rollback requested by a deleted user");
    expect(messages(after[2]?.body)).toContain("cancelled by a deleted user");
    for (const id of all) {
      const frame = await firstFrame(id);
      expect(frame).not.toContain(approver.email);
      expect(frame).not.toContain(approver.id);
    }
    const list = await call("GET", `/v1/projects/${projectId}/deployments`, { token: owner.accessToken });
    expect(list.status, list.text).toBe(200);
    expect(list.text).not.toContain(approver.email);
    const rows = await rowsOf(all);
    expect(rows.events.filter((e) => e.type === "approved").map((e) => [e.message, e.actorId])).toEqual([
      ["approved", null],
      ["approved", null],
    ]);
    expect(JSON.stringify(rows)).not.toContain(approver.email);
    expect(JSON.stringify(rows)).not.toContain(approver.id);
    for (const id of all) expect(await storageOf(id)).not.toContain(approver.email);
    // The owner invited them (the invite named their email) and saw them act: their export holds none of it.
    const exported = await call("GET", "/v1/me/export", { token: owner.accessToken });
    expect(exported.status).toBe(200);
    expect(exported.text).not.toContain(approver.email);
  });

  it("an orchestrator stored before people were kept by id shows the email it holds only while the account exists, and never sends it to Postgres", {
    timeout: 60_000,
  }, async () => {
    const approver = await approverJoins("old-approver");
    const projectId = (await createProject(owner, workspaceId)).id;
    const id = await waiting(projectId, "old");
    await act(approver, id, "approve");
    await deploymentWhen(owner, id, (d) => d.status === "succeeded");
    await expect.poll(async () => (await rowsOf([id])).releases[0]?.status, { timeout: 15_000 }).toBe("succeeded");
    const approval = () =>
      withDb(async (db) => (await db.select().from(deploymentEvents).where(eq(deploymentEvents.releaseId, id))).find((e) => e.type === "approved"));
    // The object's own sync is done before its rows go: only the rewritten storage may bring them back.
    await expect.poll(async () => (await approval())?.message, { timeout: 15_000 }).toBe("approved");
    // As the older orchestrator stored it: the approver's email on the stage, in the approval's
    // message and in a hand rollback's reason. Postgres is told everything again, by an alarm the
    // test runs (set far ahead, so it cannot fire before the rows are deleted).
    const orchestrator = deploymentOrchestrator(env, id);
    await runInDurableObject(orchestrator, async (_object, state) => {
      const meta = await state.storage.get<Meta>("meta");
      const times = meta?.times[0];
      if (!meta || !times) throw new Error("no stored deployment");
      times.approvedBy = { id: approver.id, email: approver.email };
      meta.state.reason = `rolled back by hand (${approver.email})`;
      meta.syncedSeq = 0;
      meta.syncedStatus = null;
      await state.storage.put("meta", meta);
      // An object made before events had an actor has no such column.
      const columns = state.storage.sql.exec<{ name: string }>("select name from pragma_table_info('events')").toArray();
      const unset = columns.some((c) => c.name === "actor") ? ", actor = null" : "";
      state.storage.sql.exec(`update events set message = ?${unset} where type = 'approved'`, `approved by ${approver.email}`);
      await state.storage.setAlarm(Date.now() + 3_600_000);
    });
    await withDb((db) => db.delete(deploymentEvents).where(eq(deploymentEvents.releaseId, id)));
    expect(await approval()).toBeUndefined();
    expect(await runDurableObjectAlarm(orchestrator)).toBe(true);
    await expect.poll(async () => (await approval())?.message, { timeout: 15_000 }).toBe("approved");
    expect((await approval())?.actorId).toBe(approver.id);
    expect((await rowsOf([id])).releases[0]?.reason).toBe("rolled back by hand");
    expect(JSON.stringify(await rowsOf([id]))).not.toContain(approver.email);

    const alive = await view(id);
    expect(alive.body.stages[0].approvedBy).toEqual({ id: approver.id, email: approver.email });
    expect(messages(alive.body)).toContain(`approved by ${approver.email}`);
    expect(alive.body.reason).toBe("rolled back by hand");

    const deleted = await call("DELETE", "/v1/me", { token: approver.accessToken, body: { password: approver.password } });
    expect(deleted.status, deleted.text).toBe(204);
    const gone = await view(id);
    expect(gone.text).not.toContain(approver.email);
    expect(gone.body.stages[0].approvedBy).toBeNull();
    expect(messages(gone.body)).toContain("approved by a deleted user");
    expect(await firstFrame(id)).not.toContain(approver.email);
    expect((await approval())?.actorId).toBeNull();
    expect(JSON.stringify(await rowsOf([id]))).not.toContain(approver.email);
  });
});
