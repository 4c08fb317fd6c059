import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OtlpReceiver } from "../../test/fakes/otlp-receiver.ts";
import { traceIdOf, TracingEnv, tracingOff } from "./context.ts";
import { SamplingDecision, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { createTracing, sampledAtRatio } from "./otlp.ts";

const collector = new OtlpReceiver();
beforeAll(() => collector.start());
afterAll(() => collector.close());
beforeEach(() => {
  collector.spans.length = 0;
  collector.requests.length = 0;
});

const env = (vars: Record<string, string> = {}) => TracingEnv.parse({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, ...vars });
const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

describe("tracing", () => {
  it("exports a span under its caller's trace, with its service, kind, attributes and status", async () => {
    const tracing = createTracing({ service: "sparki-test", env: env() });
    const span = tracing.start("POST /v1/things", { parent, kind: "server", attributes: { "http.request.method": "POST" } });
    const child = tracing.start("child", { parent: span.traceparent });
    child.fail(new Error("boom"));
    child.end();
    span.end();
    await tracing.flush();
    expect(collector.spans).toHaveLength(2);
    const [first, second] = collector.spans;
    expect(first).toMatchObject({ service: "sparki-test", traceId: "0af7651916cd43dd8448eb211c80319c", name: "child", statusCode: 2 });
    expect(second).toMatchObject({ name: "POST /v1/things", parentSpanId: "b7ad6b7169203331", kind: 2, attributes: { "http.request.method": "POST" } });
    expect(first?.parentSpanId).toBe(second?.spanId);
    expect(span.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${second?.spanId}-01`);
  });

  it("starts a new trace without a (valid) parent", async () => {
    const tracing = createTracing({ service: "sparki-test", env: env() });
    const span = tracing.start("root", { parent: "00-not-a-traceparent" });
    span.end();
    await tracing.flush();
    expect(collector.spans).toHaveLength(1);
    expect(collector.spans[0]?.parentSpanId).toBeNull();
    expect(collector.spans[0]?.traceId).toBe(span.traceId);
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("keeps a caller's decision not to sample, and passes it on", async () => {
    const tracing = createTracing({ service: "sparki-test", env: env() });
    const span = tracing.start("unsampled", { parent: parent.replace(/-01$/, "-00") });
    span.end();
    await tracing.flush();
    expect(collector.requests).toHaveLength(0);
    expect(span.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
  });

  it("starts a span at startMs when given (a wait recorded once it is over)", async () => {
    const tracing = createTracing({ service: "sparki-test", env: env() });
    const startMs = Date.now() - 60_000;
    tracing.start("job wait", { parent, startMs }).end();
    await tracing.flush();
    expect(collector.spans[0]?.startNs).toBe(BigInt(startMs) * 1_000_000n);
    expect(collector.spans[0]?.endNs).toBeGreaterThan(collector.spans[0]?.startNs ?? 0n);
  });

  it("samples new traces by OTEL_TRACES_SAMPLER_ARG", async () => {
    const none = createTracing({ service: "sparki-test", env: env({ OTEL_TRACES_SAMPLER_ARG: "0" }) });
    for (let i = 0; i < 20; i++) none.start("dropped").end();
    await none.flush();
    expect(collector.spans).toHaveLength(0);
    const all = createTracing({ service: "sparki-test", env: env({ OTEL_TRACES_SAMPLER_ARG: "1" }) });
    for (let i = 0; i < 20; i++) all.start("kept").end();
    await all.flush();
    expect(collector.spans).toHaveLength(20);
  });

  it("keeps a share of new traces by their trace id, deciding as OpenTelemetry's ratio sampler does", async () => {
    const half = createTracing({ service: "sparki-test", env: env({ OTEL_TRACES_SAMPLER_ARG: "0.5" }) });
    const spans = Array.from({ length: 400 }, () => half.start("maybe"));
    for (const span of spans) span.end();
    await half.flush();
    const kept = new Set(collector.spans.map((s) => s.traceId));
    // 400 fair coins: outside 140..260 once in about 10⁹ runs.
    expect(kept.size).toBeGreaterThan(140);
    expect(kept.size).toBeLessThan(260);
    const sdk = new TraceIdRatioBasedSampler(0.5);
    for (const span of spans) {
      const traceId = span.traceId ?? "";
      const sdkKeeps = sdk.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
      expect({ traceId, kept: kept.has(traceId), flag: span.traceparent?.endsWith("-01") }).toEqual({ traceId, kept: sdkKeeps, flag: sdkKeeps });
    }
    for (const ratio of [0.01, 0.3, 0.99]) {
      const sdkAt = new TraceIdRatioBasedSampler(ratio);
      for (const span of spans.slice(0, 50)) {
        const traceId = span.traceId ?? "";
        expect(sampledAtRatio(traceId, ratio)).toBe(sdkAt.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED);
      }
    }
  });

  it("sends OTEL_EXPORTER_OTLP_HEADERS and honours a traces endpoint of its own", async () => {
    const tracing = createTracing({
      service: "sparki-test",
      env: TracingEnv.parse({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces`, OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=s%3Dcret,other = two" }),
    });
    tracing.start("one").end();
    await tracing.flush();
    expect(collector.requests[0]?.headers).toMatchObject({ "x-api-key": "s=cret", other: "two" });
  });

  it("flushSoon sends a moment later everything that ended meanwhile, in one request, and at once when many spans wait", async () => {
    const tracing = createTracing({ service: "sparki-test", env: env({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "256" }) });
    tracing.start("first").end();
    const planned = tracing.flushSoon();
    tracing.start("second").end();
    // A second caller is not held: the planned send carries its span.
    await tracing.flushSoon();
    expect(collector.requests).toHaveLength(0);
    await planned;
    expect(collector.requests).toHaveLength(1);
    expect(collector.spans.map((s) => s.name)).toEqual(["first", "second"]);
    for (let i = 0; i < 300; i++) tracing.start("many").end();
    await tracing.flushSoon();
    expect(collector.requests).toHaveLength(2);
    expect(collector.spans).toHaveLength(302);
    // Nothing waiting: nothing planned, nothing sent.
    await tracing.flushSoon();
    expect(collector.requests).toHaveLength(2);
  });

  it("sends at once, not after the delay, when OTEL_BSP_MAX_EXPORT_BATCH_SIZE spans wait", async () => {
    // A minute's delay: were it waited for, the test would time out.
    const tracing = createTracing({ service: "sparki-test", env: env({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "3", OTEL_BSP_SCHEDULE_DELAY: "60000" }) });
    for (let i = 0; i < 3; i++) tracing.start(`span ${i}`).end();
    await tracing.flushSoon();
    expect(collector.requests).toHaveLength(1);
    expect(collector.spans).toHaveLength(3);
  });

  it("keeps the newest OTEL_BSP_MAX_QUEUE_SIZE spans while none is sent", async () => {
    const tracing = createTracing({ service: "sparki-test", env: env({ OTEL_BSP_MAX_QUEUE_SIZE: "5" }) });
    for (let i = 0; i < 8; i++) tracing.start(`span ${i}`).end();
    await tracing.flush();
    expect(collector.spans.map((s) => s.name)).toEqual(["span 3", "span 4", "span 5", "span 6", "span 7"]);
  });

  it("a process that awaits a planned send before it exits gets it (the runner's stop), not exit 13", () => {
    // Nothing listens at the endpoint, so no kept-alive socket holds the process open meanwhile.
    const dir = mkdtempSync(join(tmpdir(), "sparki-tracing-exit-"));
    const script = join(dir, "stop.mts");
    const from = (name: string) => JSON.stringify(pathToFileURL(join(import.meta.dirname, name)).href);
    writeFileSync(
      script,
      [
        `import { createTracing } from ${from("otlp.ts")};`,
        `import { TracingEnv } from ${from("context.ts")};`,
        `const tracing = createTracing({ service: "x", env: TracingEnv.parse({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" }) });`,
        `tracing.start("planned").end();`,
        `const planned = tracing.flushSoon();`,
        `await tracing.flush();`,
        `await planned;`,
        `console.log("stopped");`,
      ].join("\n"),
    );
    try {
      const result = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 30_000 });
      expect({ status: result.status, stdout: result.stdout.trim() }, result.stderr).toEqual({ status: 0, stdout: "stopped" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loses spans, not work, when the collector is down", async () => {
    const errors: string[] = [];
    const tracing = createTracing({
      service: "sparki-test",
      env: TracingEnv.parse({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" }),
      onExportError: (m) => errors.push(m),
    });
    tracing.start("lost").end();
    await expect(tracing.flush()).resolves.toBeUndefined();
    expect(errors).toEqual([expect.stringContaining("could not send 1 spans")]);
  });

  it("off: sends nothing, and carries a caller's traceparent on unchanged", async () => {
    const tracing = createTracing({ service: "sparki-test", env: TracingEnv.parse({}) });
    expect(tracing).toBe(tracingOff);
    const span = tracing.start("x", { parent });
    span.end();
    await tracing.flush();
    expect(span.traceparent).toBe(parent);
    expect(tracing.start("y").traceparent).toBeNull();
    expect(tracing.start("z", { parent: "garbage" }).traceparent).toBeNull();
    expect(collector.requests).toHaveLength(0);
    expect(traceIdOf(parent)).toBe("0af7651916cd43dd8448eb211c80319c");
  });
});
