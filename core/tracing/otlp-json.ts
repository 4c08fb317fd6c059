/**
 * OTLP/HTTP JSON for a batch of spans of one service (https://opentelemetry.io/docs/specs/otlp/,
 * "JSON Protobuf Encoding"): ids as hex, enums as numbers, 64-bit times as decimal strings.
 * Written here rather than taken from @opentelemetry/otlp-transformer, whose JSON serializer
 * brings the OpenTelemetry API (about 8 KiB gzip) into the Worker; otlp-json.test.ts checks that
 * both encode the same spans alike.
 */
import type { Attributes, AttributeValue } from "@opentelemetry/api";

/** A finished span as the recorder keeps it. */
export interface RecordedSpan {
  name: string;
  /** OpenTelemetry API's SpanKind: 0 internal, 1 server, 2 client, 3 producer, 4 consumer. */
  kind: number;
  traceId: string;
  spanId: string;
  /** The caller's span, always remote: parents arrive as traceparent strings. */
  parentSpanId?: string;
  traceFlags: number;
  startMs: number;
  endMs: number;
  attributes: Attributes;
  /** 2 (error) with its message, or absent (unset). */
  error?: string;
}

const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

type AnyValue =
  | { stringValue: string }
  | { intValue: number }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { arrayValue: { values: AnyValue[] } }
  | object;

function anyValue(value: AttributeValue | undefined | null): AnyValue {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "number") return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map((v) => anyValue(v)) } };
  return {};
}

const keyValues = (attributes: Attributes) => Object.keys(attributes).map((key) => ({ key, value: anyValue(attributes[key]) }));

/** Milliseconds since the epoch as OTLP's decimal nanoseconds (beyond 2⁵³, so as text). */
const unixNano = (ms: number) => (ms === 0 ? "0" : `${Math.trunc(ms)}000000`);

function otlpSpan(span: RecordedSpan) {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    // OTLP's SpanKind counts UNSPECIFIED as 0, so the API's values move up by one.
    kind: span.kind + 1,
    startTimeUnixNano: unixNano(span.startMs),
    endTimeUnixNano: unixNano(span.endMs),
    attributes: keyValues(span.attributes),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    status: span.error === undefined ? { code: 0 } : { code: 2, message: span.error },
    links: [],
    droppedLinksCount: 0,
    flags: (span.traceFlags & 0xff) | HAS_IS_REMOTE | (span.parentSpanId ? IS_REMOTE : 0),
  };
}

/** One span as OTLP JSON, ready to go into {@link exportRequest}. */
export function encodeSpan(span: RecordedSpan): string {
  return JSON.stringify(otlpSpan(span));
}

/** One ExportTraceServiceRequest, as JSON, around spans {@link encodeSpan} encoded. */
export function exportRequest(service: string, scope: string, encodedSpans: readonly string[]): string {
  const resource = JSON.stringify({ attributes: keyValues({ "service.name": service }), droppedAttributesCount: 0 });
  return `{"resourceSpans":[{"resource":${resource},"scopeSpans":[{"scope":${JSON.stringify({ name: scope })},"spans":[${encodedSpans.join(",")}]}]}]}`;
}
