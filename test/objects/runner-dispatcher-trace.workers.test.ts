/**
 * A job's wait in a runner pool is part of its build's trace (issue 16 item 1): the offer carries
 * the build's traceparent, kept in the pool's SQLite (pools made before it get the column), and
 * the hand-out to a runner records a span under it from the offer to the hand-out. The pool's
 * tracing is turned on by giving the live instance an env with an OTLP endpoint, whose requests
 * the test takes from `fetch`.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RunnerDispatcher } from "../../durable-objects/runner-dispatcher/object.ts";
import { runnerDispatcher } from "../../server/objects/clients.ts";
import { until } from "../until.ts";
import { attributeOf, captureExportedSpans, otlpEndpoint } from "./exported-spans.ts";

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const buildSpanId = "00f067aa0ba902b7";
const traceparent = `00-${traceId}-${buildSpanId}-01`;

/** Spans the pools sent to the endpoint. */
const exported = captureExportedSpans();

const name = () => `workspace:${crypto.randomUUID()}`;
const runner = () => ({ runnerId: crypto.randomUUID(), labels: ["linux"] });
const offerOf = (jobId: string) => ({ jobId, buildId: crypto.randomUUID(), labels: ["linux"], workspaceId: crypto.randomUUID(), traceparent });

/** The running instance exports its spans at once to the test's endpoint (until it is evicted). */
async function traceFrom(pool: ReturnType<typeof runnerDispatcher>): Promise<void> {
  await runInDurableObject(pool, async (instance: RunnerDispatcher) => {
    const traced = { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: "0" };
    Object.assign(instance, { env: traced });
  });
}

const offeredAt = (pool: ReturnType<typeof runnerDispatcher>, jobId: string) =>
  runInDurableObject(
    pool,
    async (_instance: RunnerDispatcher, state) =>
      state.storage.sql.exec<{ offered_at: number }>("select offered_at from offers where job_id = ?", jobId).one().offered_at,
  );

const waitSpanOf = (jobId: string) =>
  until(`the pool's span of job ${jobId}`, () =>
    exported().find((s) => s.name === "job wait" && s.attributes.some((a) => a.key === "sparki.job_id" && a.value.stringValue === jobId)),
  );

describe("a job's wait in its pool, in the build's trace", () => {
  it("spans from the offer to the claim that takes it, under the build's span, with the pool and labels", async () => {
    const pool = runnerDispatcher(env, name());
    await traceFrom(pool);
    const offer = offerOf("job-traced");
    await pool.offer(offer);
    const since = await offeredAt(pool, offer.jobId);
    const taker = runner();
    expect(await pool.claim(taker, 0)).toMatchObject({ jobId: offer.jobId });
    const span = await waitSpanOf(offer.jobId);
    expect(span).toMatchObject({ traceId, parentSpanId: buildSpanId, startTimeUnixNano: `${since}000000` });
    expect(attributeOf(span, "sparki.pool")?.stringValue).toMatch(/^workspace:/);
    expect(attributeOf(span, "sparki.runner_id")?.stringValue).toBe(taker.runnerId);
    expect(attributeOf(span, "sparki.labels")?.arrayValue?.values.map((v) => v.stringValue)).toEqual(["linux"]);
  });

  it("spans a hand-out to a runner already waiting too", async () => {
    const pool = runnerDispatcher(env, name());
    await traceFrom(pool);
    const claim = pool.claim(runner(), 5000);
    await until("the runner to wait", async () => (await pool.stats()).waiting === 1 || undefined);
    await pool.offer(offerOf("job-to-waiting"));
    expect(await claim).toMatchObject({ jobId: "job-to-waiting" });
    expect(await waitSpanOf("job-to-waiting")).toMatchObject({ traceId, parentSpanId: buildSpanId });
  });

  it("gives a pool made before offers carried traces the column, and a re-offer fills in an older offer's trace", async () => {
    const pool = runnerDispatcher(env, name());
    const firstOffered = Date.now() - 5000;
    await runInDurableObject(pool, async (_instance: RunnerDispatcher, state) => {
      state.storage.sql.exec("drop table offers");
      state.storage.sql.exec("create table offers (job_id text primary key, build_id text not null, labels text not null, offered_at integer not null)");
      state.storage.sql.exec("insert into offers values ('job-old', ?, '[\"linux\"]', ?)", crypto.randomUUID(), firstOffered);
    });
    await evictDurableObject(pool);
    await traceFrom(pool);
    await pool.offer(offerOf("job-old"));
    expect(await pool.claim(runner(), 0)).toMatchObject({ jobId: "job-old" });
    // The wait counts from the first offer, made before the pool knew of traces.
    expect(await waitSpanOf("job-old")).toMatchObject({ traceId, parentSpanId: buildSpanId, startTimeUnixNano: `${firstOffered}000000` });
  });
});
