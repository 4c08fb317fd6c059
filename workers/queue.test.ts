import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { expect, it } from "vitest";
import { builds } from "../server/db/schema.js";
import worker from "./index.js";
import { createProject, createWorkspace, signup } from "./testing/api.js";
import { withDb } from "./testing/deploy.js";

it("dead-letters malformed events at once, retries a green build Postgres has not heard of yet, and acknowledges the rest", async () => {
  const now = new Date().toISOString();
  const user = await signup("queue");
  const projectId = (await createProject(user, (await createWorkspace(user)).id)).id;
  // The coordinator's outbox can be behind its build.completed event.
  const behind = await withDb(
    async (db) =>
      (await db.insert(builds).values({ projectId, number: 1, branch: "main", status: "running", trigger: "api" }).returning({ id: builds.id }))[0]?.id ?? "",
  );
  const batch = createMessageBatch("sparki-events", [
    { id: "bad", timestamp: new Date(), attempts: 1, body: { type: "build.requested", buildId: "nope" } },
    {
      id: "deploy",
      timestamp: new Date(),
      attempts: 1,
      body: { type: "deploy.requested", deploymentId: crypto.randomUUID(), buildId: crypto.randomUUID(), correlationId: "c1", occurredAt: now },
    },
    // A build deleted before its event arrived: nothing to run, so the event is done.
    {
      id: "gone",
      timestamp: new Date(),
      attempts: 1,
      body: { type: "build.requested", buildId: crypto.randomUUID(), projectId: crypto.randomUUID(), correlationId: "c2", occurredAt: now },
    },
    {
      id: "failed",
      timestamp: new Date(),
      attempts: 1,
      body: { type: "build.completed", buildId: behind, projectId, status: "failed", correlationId: "c3", occurredAt: now },
    },
    {
      id: "behind",
      timestamp: new Date(),
      attempts: 1,
      body: { type: "build.completed", buildId: behind, projectId, status: "succeeded", correlationId: "c4", occurredAt: now },
    },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  expect(result.explicitAcks.sort()).toEqual(["bad", "deploy", "failed", "gone"]);
  expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["behind"]);
});
