/**
 * Attacks on trace propagation (issue 16 item 1): the API takes a caller's `traceparent` header,
 * and Sparki's own parts pass traceparents in queue messages, object calls and claimed jobs. A
 * hostile header never fails a request (it starts a new trace instead), and a hostile value in
 * a message or a job is refused by the schema at that boundary.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SparkiEvent } from "../../core/contracts/events.ts";
import { Job } from "../../core/contracts/runner.ts";
import worker from "../../workers/index.js";

// Tracing on, towards a collector that is not there: exporting fails quietly after the answer.
const traced = { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", OTEL_BSP_SCHEDULE_DELAY: "0" };
const waits: Promise<unknown>[] = [];
const ctx = { waitUntil: (p: Promise<unknown>) => waits.push(p), passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;

const hostile = [
  "garbage",
  "",
  `00-${"0".repeat(32)}-${"1".repeat(16)}-01`,
  `00-${"a".repeat(32)}-${"0".repeat(16)}-01`,
  `ff-${"a".repeat(32)}-${"b".repeat(16)}-01`,
  `00-${"A".repeat(32)}-${"B".repeat(16)}-01`,
  `00-${"a".repeat(32)}-${"b".repeat(16)}-01-extra`,
  `00-${"a".repeat(32)}-${"b".repeat(16)}-0\u0000`,
  `00-${"a".repeat(8000)}-${"b".repeat(16)}-01`,
  "00-%0d%0aSet-Cookie:x=y-b7ad6b7169203331-01",
];

// A header cannot carry a NUL (fetch refuses to send it); the schemas still see one.
const sendable = hostile.filter((value) => !value.includes("\u0000"));

describe("a hostile traceparent", () => {
  it.each(sendable)("is answered normally, never with a 500: %#", async (header) => {
    const res = await worker.fetch(
      new Request("http://sparki.test/v1/auth/login", { method: "POST", headers: { traceparent: header, "content-type": "application/json" }, body: "{}" }),
      traced,
      ctx,
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.headers.get("set-cookie")).toBeNull();
    await Promise.allSettled(waits.splice(0));
  });

  it("in a queue message fails the message's schema (dead-lettered, not run)", () => {
    const event = {
      type: "build.requested",
      buildId: crypto.randomUUID(),
      projectId: crypto.randomUUID(),
      correlationId: "x",
      occurredAt: new Date().toISOString(),
    };
    expect(SparkiEvent.safeParse(event).success).toBe(true);
    for (const traceparent of hostile) expect(SparkiEvent.safeParse({ ...event, traceparent }).success, traceparent.slice(0, 40)).toBe(false);
  });

  it("in a claimed job is refused by the runner's contract", () => {
    const job = {
      jobId: "j",
      jobToken: "t",
      buildId: "b",
      leaseId: "l",
      fencingToken: 1,
      leaseExpiresAt: new Date().toISOString(),
      repo: { url: "https://example.com/r.git", branch: "main", commitSha: null },
      steps: [],
      env: {},
      secrets: [],
      artifacts: [],
      timeoutSeconds: 60,
    };
    expect(Job.safeParse(job).success).toBe(true);
    for (const traceparent of hostile) expect(Job.safeParse({ ...job, traceparent }).success, traceparent.slice(0, 40)).toBe(false);
  });
});
