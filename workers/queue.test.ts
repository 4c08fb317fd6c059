import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { expect, it } from "vitest";
import worker from "./index.js";

it("dead-letters malformed events at once and retries unhandled ones", async () => {
  const batch = createMessageBatch("sparki-events", [
    { id: "bad", timestamp: new Date(), attempts: 1, body: { type: "build.requested", buildId: "nope" } },
    {
      id: "good",
      timestamp: new Date(),
      attempts: 1,
      body: { type: "build.requested", buildId: crypto.randomUUID(), projectId: crypto.randomUUID(), correlationId: "c1", occurredAt: new Date().toISOString() },
    },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  expect(result.explicitAcks).toEqual(["bad"]);
  expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["good"]);
});
