/**
 * The calls that change a build's course are spans of its trace (issue 16): a cancel, a retry, a
 * job's completion and an alarm that takes a job from its runner each record one under the
 * build's traceparent.
 * The build is made through the API with a caller's `traceparent` (tracing is off in the API
 * here, so that becomes the build's); the coordinator's tracing is turned on by giving the live
 * instance an env with an OTLP endpoint, whose requests the test takes from `fetch`, as the pool's
 * trace test does. The alarm runs with runDurableObjectAlarm under a fake Date.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { BuildCoordinator } from "../../durable-objects/build-coordinator/object.ts";
import { buildCoordinator } from "../../server/objects/clients.ts";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import { until } from "../until.ts";
import { attributeOf, captureExportedSpans, otlpEndpoint } from "./exported-spans.ts";

/** Spans the coordinators sent to the endpoint. */
const exported = captureExportedSpans();
afterEach(() => vi.useRealTimers());

let owner: TestUser;
let projectId: string;
beforeAll(async () => {
  owner = await signup("build-trace");
  projectId = (await createProject(owner, (await createWorkspace(owner)).id)).id;
});

const hex = (bytes: number) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A new build in a trace of its own, its coordinator tracing to the test's endpoint, and its plan job. */
async function tracedBuild() {
  const traceId = hex(16);
  const parentSpanId = hex(8);
  const res = await call("POST", `/v1/projects/${projectId}/builds`, {
    token: owner.accessToken,
    body: { branch: "main", commitSha: "c".repeat(40) },
    headers: { traceparent: `00-${traceId}-${parentSpanId}-01` },
  });
  expect(res.status, res.text).toBe(201);
  const buildId = res.body.id as string;
  const coordinator = buildCoordinator(env, buildId);
  await runInDurableObject(coordinator, async (instance: BuildCoordinator) => {
    Object.assign(instance, { env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: "0" } });
  });
  const plan = (await coordinator.view())?.jobs.find((j) => j.kind === "plan");
  if (!plan) throw new Error("the build has no plan job");
  return { coordinator, buildId, jobId: plan.id, traceId, parentSpanId };
}

const spansOf = (name: string, buildId: string) => exported().filter((s) => s.name === name && attributeOf(s, "sparki.build_id")?.stringValue === buildId);
const spanOf = (name: string, buildId: string, nth = 0) => until(`the coordinator's "${name}" span`, () => spansOf(name, buildId)[nth]);

describe("a build's course in its trace", () => {
  it("records a cancel, under the build's trace, with its reason and what it ended", async () => {
    const { coordinator, buildId, traceId, parentSpanId } = await tracedBuild();
    expect(await coordinator.cancel()).toMatchObject({ status: "cancelled" });
    const span = await spanOf("build cancel", buildId);
    expect(span).toMatchObject({ traceId, parentSpanId, status: { code: 0 } });
    expect(attributeOf(span, "sparki.reason")?.stringValue).toBe("requested");
    expect(attributeOf(span, "sparki.cancelled")?.boolValue).toBe(true);
    expect(attributeOf(span, "sparki.jobs_cancelled")?.intValue).toBe(1);

    // Again: the build has ended, so the cancel changes nothing (and is no failure: the API answers 200).
    await coordinator.cancel("superseded by build #9");
    const again = await spanOf("build cancel", buildId, 1);
    expect(attributeOf(again, "sparki.reason")?.stringValue).toBe("superseded by build #9");
    expect(attributeOf(again, "sparki.cancelled")?.boolValue).toBe(false);
    expect(again.status).toEqual({ code: 0 });
  });

  it("records a retry with its new attempt, and a retry refused as failed", async () => {
    const { coordinator, buildId, traceId, parentSpanId } = await tracedBuild();
    expect(await coordinator.retry()).toBeNull();
    const refused = await spanOf("build retry", buildId);
    expect(refused).toMatchObject({ traceId, parentSpanId, status: { code: 2, message: "A queued build cannot be retried." } });

    await coordinator.cancel();
    expect(await coordinator.retry()).toMatchObject({ status: "queued", attempt: 2 });
    const span = await spanOf("build retry", buildId, 1);
    expect(span).toMatchObject({ traceId, parentSpanId, status: { code: 0 } });
    expect(attributeOf(span, "sparki.attempt")?.intValue).toBe(2);
    expect(attributeOf(span, "sparki.jobs_retried")?.intValue).toBe(1);
    await coordinator.cancel();
    await spanOf("build cancel", buildId, 1); // sent before the test's fetch is restored
  });

  it("records a completion as the job's status, and one from a holder whose lease was taken over as failed", async () => {
    const { coordinator, buildId, jobId, traceId, parentSpanId } = await tracedBuild();
    const runnerId = crypto.randomUUID();
    const job = await coordinator.claimJob(jobId, { runnerId, workspaceId: null });
    if (!job) throw new Error("the claim lost");
    const stale = { runnerId, leaseId: job.leaseId, fencingToken: job.fencingToken + 1 };
    const refusal = await coordinator.complete(jobId, stale, { status: "succeeded", exitCode: 0, steps: [] });
    expect(refusal).not.toBeNull();
    const refused = await spanOf("job complete", buildId);
    expect(refused).toMatchObject({ traceId, parentSpanId, status: { code: 2, message: refusal?.detail } });
    expect(attributeOf(refused, "sparki.refused")?.stringValue).toBe(refusal?.refused);

    const holder = { runnerId, leaseId: job.leaseId, fencingToken: job.fencingToken };
    expect(await coordinator.complete(jobId, holder, { status: "failed", exitCode: 1, steps: [] })).toBeNull();
    const span = await spanOf("job complete", buildId, 1);
    expect(span).toMatchObject({ traceId, parentSpanId, status: { code: 0 } });
    expect(attributeOf(span, "sparki.job_status")?.stringValue).toBe("failed");
    // The build failed with its plan: its end reaches Postgres from the outbox now, not after the stores stop.
    await until("the build's end in Postgres", async () => {
      const failed = await call("GET", `/v1/projects/${projectId}/builds?status=failed`, { token: owner.accessToken });
      return failed.body.items.some((b: { id: string }) => b.id === buildId);
    });
    await coordinator.cancel();
    await spanOf("build cancel", buildId); // sent before the test's fetch is restored
  });

  it("records an alarm that takes a job from its runner, and none for an alarm with only bookkeeping", async () => {
    const { coordinator, buildId, jobId, traceId, parentSpanId } = await tracedBuild();
    const runnerId = crypto.randomUUID();
    const job = await coordinator.claimJob(jobId, { runnerId, workspaceId: null });
    if (!job) throw new Error("the claim lost");
    const end = Date.parse(job.leaseExpiresAt);
    vi.useFakeTimers({ toFake: ["Date"] });

    // Before the lease's end: the alarm syncs and re-offers, and records nothing.
    vi.setSystemTime(end - 1);
    await until("the coordinator's alarm to run", () => runDurableObjectAlarm(coordinator));
    vi.setSystemTime(end);
    await until("the coordinator's alarm to run", () => runDurableObjectAlarm(coordinator));

    const span = await spanOf("build alarm", buildId);
    expect(span).toMatchObject({ traceId, parentSpanId, status: { code: 0 } });
    expect(attributeOf(span, "sparki.leases_expired")?.intValue).toBe(1);
    expect(attributeOf(span, "sparki.jobs_requeued")?.intValue).toBe(1);
    expect(attributeOf(span, "sparki.jobs_timed_out")?.intValue).toBe(0);
    expect(attributeOf(span, "sparki.job_ids")?.arrayValue?.values.map((v) => v.stringValue)).toEqual([jobId]);
    expect(attributeOf(span, "sparki.build_status")?.stringValue).toBe("running");
    // Spans go out in the order they ended: one from the earlier alarm would have come first.
    expect(spansOf("build alarm", buildId)).toHaveLength(1);
    vi.useRealTimers();
    await coordinator.cancel();
    await spanOf("build cancel", buildId); // sent before the test's fetch is restored
  });
});
