import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { expect, it } from "vitest";
import worker from "./index.js";

it("dead-letters malformed events at once and retries events it cannot handle yet", async () => {
  const now = new Date().toISOString();
  const batch = createMessageBatch("sparki-events", [
    { id: "bad", timestamp: new Date(), attempts: 1, body: { type: "build.requested", buildId: "nope" } },
    {
      id: "deploy",
      timestamp: new Date(),
      attempts: 1,
      body: { type: "deploy.requested", deploymentId: crypto.randomUUID(), buildId: crypto.randomUUID(), correlationId: "c1", occurredAt: now },
    },
    // A build deleted before its event arrived: nothing to run, so the event is done.
    { id: "gone", timestamp: new Date(), attempts: 1, body: { type: "build.requested", buildId: crypto.randomUUID(), projectId: crypto.randomUUID(), correlationId: "c2", occurredAt: now } },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  expect(result.explicitAcks.sort()).toEqual(["bad", "gone"]);
  expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["deploy"]);
});
