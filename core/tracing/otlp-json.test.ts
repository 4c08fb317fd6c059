import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { encodeSpan, exportRequest, type RecordedSpan } from "./otlp-json.ts";

const hrTime = (ms: number): [number, number] => [Math.floor(ms / 1000), (ms % 1000) * 1e6];

/** The same span as OpenTelemetry's SDK would have handed its serializer. */
function asSdkSpan(span: RecordedSpan, resource: ReadableSpan["resource"]): ReadableSpan {
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => ({ traceId: span.traceId, spanId: span.spanId, traceFlags: span.traceFlags }),
    ...(span.parentSpanId ? { parentSpanContext: { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: 1, isRemote: true } } : {}),
    startTime: hrTime(span.startMs),
    endTime: hrTime(span.endMs),
    duration: hrTime(span.endMs - span.startMs),
    ended: true,
    status: span.error === undefined ? { code: 0 } : { code: 2, message: span.error },
    attributes: span.attributes,
    links: [],
    events: [],
    resource,
    instrumentationScope: { name: "sparki" },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

const spans: RecordedSpan[] = [
  {
    name: "GET /v1/projects/:id",
    kind: 1,
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    parentSpanId: "00f067aa0ba902b7",
    traceFlags: 1,
    startMs: 1_764_870_000_123,
    endMs: 1_764_870_000_456,
    attributes: { "http.request.method": "GET", "http.response.status_code": 200, ratio: 0.25, cached: false, labels: ["linux", "x64"], counts: [1, 2] },
  },
  {
    name: "checkout",
    kind: 0,
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "53995c3f42cd8ad8",
    traceFlags: 1,
    startMs: 1_764_870_001_000,
    endMs: 1_764_870_001_000,
    attributes: {},
    error: "git fetch exited 128",
  },
];

describe("OTLP JSON", () => {
  it("encodes spans exactly as OpenTelemetry's JSON serializer does", async () => {
    const resource = resourceFromAttributes({ "service.name": "sparki-api" });
    const ours = JSON.parse(exportRequest("sparki-api", "sparki", spans.map(encodeSpan)));
    const sdk = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans.map((s) => asSdkSpan(s, resource)))));
    expect(ours).toEqual(sdk);
    // The spec's shapes, not only the serializer's agreement.
    const [first, second] = ours.resourceSpans[0].scopeSpans[0].spans;
    expect(first).toMatchObject({ kind: 2, startTimeUnixNano: "1764870000123000000", flags: 0x301, parentSpanId: "00f067aa0ba902b7" });
    expect(first.attributes).toContainEqual({ key: "labels", value: { arrayValue: { values: [{ stringValue: "linux" }, { stringValue: "x64" }] } } });
    expect(second).toMatchObject({ kind: 1, status: { code: 2, message: "git fetch exited 128" }, flags: 0x101 });
    expect(second.parentSpanId).toBeUndefined();
  });

  it("holds no span when there is none", () => {
    expect(JSON.parse(exportRequest("sparki-api", "sparki", []))).toEqual({
      resourceSpans: [expect.objectContaining({ scopeSpans: [{ scope: { name: "sparki" }, spans: [] }] })],
    });
  });
});
