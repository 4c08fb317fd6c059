/**
 * Traces (issue 16 item 1): a build on the real local stack, started as `npm run dev` starts it
 * (OTEL_* in its environment only, its own local runner), with the Worker, its objects and that
 * runner all exporting to a local OTLP receiver, is one trace: it starts under the caller's
 * own `traceparent`, and holds spans from the API, the build's coordinator, the runner pool its
 * jobs waited in, the runner, the queue consumer and the deployment the green build starts (its
 * stage and health checks), each under a parent in the same trace. A step sees its own span as
 * TRACEPARENT.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OtlpReceiver, type ReceivedSpan } from "../fakes/otlp-receiver.ts";
import { E2E, oneStepYml, until } from "./support.js";

const collector = new OtlpReceiver();
const e2e = new E2E();

beforeAll(async () => {
  await collector.start();
  // As `npm run dev` is started: OTEL_* only in its own environment, which the stack passes to the
  // Worker and to its local runner (spawned as it starts). Restored at once: the test worker's
  // next files share this process.
  const before = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
  try {
    await e2e.start({ runner: true });
  } finally {
    if (before === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = before;
  }
}, 180_000);
afterAll(async () => {
  await e2e.close();
  await collector.close();
}, 60_000);

const callerTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const callerSpanId = "00f067aa0ba902b7";

describe("traces", () => {
  it("follows one build from the API through its coordinator and the runner to its deployment", async () => {
    const build = 'echo "traceparent=$TRACEPARENT" && mkdir -p dist && echo ok > dist/health.txt';
    const repo = await e2e.gitRepo("traced", {
      "sparki.yml": `${oneStepYml(build, "dist")}deployments:
  - stage: staging
    platform: sparki-static
    healthCheck: { path: /health.txt, intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 2 }
`,
    });
    const project = await e2e.project("traced", repo);
    const res = await fetch(`${e2e.stack.apiUrl}/v1/projects/${project.id}/builds`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${e2e.token}`, traceparent: `00-${callerTraceId}-${callerSpanId}-01` },
      body: JSON.stringify({ branch: "main" }),
    });
    expect(res.status).toBe(201);
    const buildId = ((await res.json()) as { id: string }).id;
    expect((await e2e.waitForEnd(buildId)).status).toBe("succeeded");

    const services = () => new Set(collector.trace(callerTraceId).map((s) => s.service));
    // The runner sends its spans as each job ends, the objects after each call: all soon after the build.
    await until(
      "spans from the API, the coordinator, the runner pool and the runner",
      () =>
        ["sparki-api", "sparki-build-coordinator", "sparki-runner-dispatcher", "sparki-runner", "sparki-deployment-orchestrator"].every((s) =>
          services().has(s),
        ) &&
        names().includes("step build") &&
        names().filter((n) => n === "job wait").length >= 2 &&
        names().includes("health check staging"),
      60_000,
      { diagnostics: () => JSON.stringify(collector.spans.map((s) => [s.service, s.name, s.traceId])) },
    );
    const spans = collector.trace(callerTraceId);
    function names() {
      return collector.trace(callerTraceId).map((s) => s.name);
    }
    const one = (service: string, name: string): ReceivedSpan => {
      const found = spans.filter((s) => s.service === service && s.name === name);
      expect(found.length, `${service} ${name} in ${JSON.stringify(spans.map((s) => [s.service, s.name]))}`).toBeGreaterThan(0);
      return found[0] as ReceivedSpan;
    };

    const trigger = one("sparki-api", "POST /v1/projects/:id/builds");
    expect(trigger.parentSpanId).toBe(callerSpanId);
    expect(trigger.attributes["http.response.status_code"]).toBe(201);
    const start = one("sparki-build-coordinator", "build start");
    expect(start.parentSpanId).toBe(trigger.spanId);
    const claims = spans.filter((s) => s.service === "sparki-build-coordinator" && s.name === "job claim" && s.attributes["sparki.claimed"] === true);
    expect(claims).toHaveLength(2); // the plan job and the build job
    const planJob = one("sparki-runner", "job plan");
    const stepsJob = one("sparki-runner", "job");
    expect(claims.map((c) => c.spanId)).toEqual(expect.arrayContaining([planJob.parentSpanId, stepsJob.parentSpanId]));
    // Each claimed job's wait in its pool, from the offer to the hand-out, beside the claim.
    const waits = spans.filter((s) => s.service === "sparki-runner-dispatcher" && s.name === "job wait");
    for (const claim of claims) {
      const wait = waits.find((w) => w.attributes["sparki.job_id"] === claim.attributes["sparki.job_id"]);
      expect(wait, `the pool's wait of job ${String(claim.attributes["sparki.job_id"])}`).toBeDefined();
      // Under the build's span context, as the coordinator's spans of the job are.
      expect(wait?.parentSpanId).toBe(trigger.spanId);
      expect(wait?.attributes["sparki.runner_id"]).toBe(claim.attributes["sparki.runner_id"]);
      expect(wait?.attributes["sparki.pool"]).toEqual(expect.any(String));
    }
    const step = one("sparki-runner", "step build");
    expect(step.parentSpanId).toBe(stepsJob.spanId);
    expect(step.attributes["process.exit.code"]).toBe(0);
    expect(one("sparki-runner", "checkout").parentSpanId).toBeTruthy();
    expect(spans.filter((s) => s.name === "job complete")).toHaveLength(2);

    // The green build's end, through the queue, starts its deployment in the same trace.
    const completed = one("sparki-api", "queue build.completed");
    expect(completed.kind).toBe(5); // consumer
    const deploy = one("sparki-deployment-orchestrator", "stage deploy staging");
    expect(deploy.parentSpanId).toBe(completed.spanId);
    expect(deploy.attributes["sparki.platform"]).toBe("sparki-static");
    const check = one("sparki-deployment-orchestrator", "health check staging");
    expect(check.attributes["sparki.healthy"]).toBe(true);

    // Every span's parent is in the trace, or is the caller's: one tree, nothing orphaned.
    const ids = new Set([callerSpanId, ...spans.map((s) => s.spanId)]);
    expect(spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId))).toEqual([]);

    // The step ran with its own span's traceparent.
    const log = await (await fetch(`${e2e.stack.apiUrl}/v1/builds/${buildId}/logs.txt`, { headers: { authorization: `Bearer ${e2e.token}` } })).text();
    expect(log).toContain(`traceparent=00-${callerTraceId}-${step.spanId}-01`);
  });

  it("starts a trace of its own for a request without one, and answers a garbled traceparent normally", async () => {
    const before = collector.spans.length;
    const res = await fetch(`${e2e.stack.apiUrl}/v1/workspaces/${e2e.workspaceId}`, {
      headers: { authorization: `Bearer ${e2e.token}`, traceparent: `00-${"0".repeat(32)}-${"1".repeat(16)}-01` },
    });
    expect(res.status).toBe(200);
    // The API sends a batch a second (flushSoon): this span goes within it, with no later request.
    await until("the request's span", () => collector.spans.slice(before).some((s) => s.name === "GET /v1/workspaces/:id"), 10_000, {
      intervalMs: 100,
    });
    const span = collector.spans.slice(before).find((s) => s.name === "GET /v1/workspaces/:id") as ReceivedSpan;
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.traceId).not.toBe("0".repeat(32));
    expect(span.parentSpanId).toBeNull();
  });
});
