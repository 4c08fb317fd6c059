/**
 * Tracing on: spans are recorded here and leave as OTLP over HTTP (JSON, otlp-json.ts) to the
 * collector the OTEL_* variables name (core/tracing/context.ts). The Worker, the objects and the
 * runner each make one per service.
 *
 * The recorder is Sparki's own, not OpenTelemetry's SDK: every span here starts from a traceparent
 * string and ends in the call that started it, so the SDK's context API, span processors and
 * limits had nothing to do, and its packages were 13 KiB of the Worker's gzip bundle. bench/api
 * measured no difference in CPU per request between the two.
 */
import type { Attributes } from "@opentelemetry/api";
import { traceIdOf, tracesUrl, tracingOff, type SpanKindName, type TraceSpan, type Tracing, type TracingEnv } from "./context.ts";
import { encodeSpan, exportRequest, type RecordedSpan } from "./otlp-json.ts";

// OpenTelemetry API's SpanKind values.
const kinds: Record<SpanKindName, number> = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 };
const SAMPLED = 1;
const EXPORT_TIMEOUT_MS = 5000;
const SCOPE = "sparki";

const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** `bytes` random bytes as lowercase hex (never all zero, which W3C reserves for "invalid"). */
function randomHex(bytes: number): string {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  if (values.every((b) => b === 0)) values[bytes - 1] = 1;
  let out = "";
  for (const b of values) out += hex[b];
  return out;
}

/**
 * Whether a new trace is kept at `ratio`: OpenTelemetry's TraceIdRatioBased rule (the trace id's
 * 32-bit words XORed, below ratio × (2³² − 1)), so every part decides alike for one trace id.
 */
export function sampledAtRatio(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  let accumulated = 0;
  for (let at = 0; at < traceId.length; at += 8) accumulated ^= Number.parseInt(traceId.slice(at, at + 8), 16);
  return accumulated >>> 0 < Math.floor(ratio * 0xffffffff);
}

/** Copies the attributes that have a value (OTLP has none for absent ones, and the SDK drops them too). */
function setAttributes(into: Attributes, attributes: Attributes): void {
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined && value !== null) into[key] = value;
  }
}

/** Lets whatever else the isolate or process has to do (other requests) run first. */
const yieldToOthers = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function parseHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

export interface TracingOptions {
  service: string;
  env: TracingEnv;
  /** Told when an export fails (the collector is down, or refused the spans). */
  onExportError?: (message: string) => void;
  fetch?: typeof fetch;
}

/** A Tracing for one service; {@link tracingOff} when the variables name no endpoint. */
export function createTracing(options: TracingOptions): Tracing {
  const url = tracesUrl(options.env);
  if (!url) return tracingOff;
  const endpoint: string = url;
  const headers = { "content-type": "application/json", ...parseHeaders(options.env.OTEL_EXPORTER_OTLP_HEADERS) };
  const send = options.fetch ?? ((input, init) => fetch(input, init));
  const ratio = options.env.OTEL_TRACES_SAMPLER_ARG;
  const maxBuffered = options.env.OTEL_BSP_MAX_QUEUE_SIZE;
  // flushSoon sends at once when this many spans wait, else OTEL_BSP_SCHEDULE_DELAY after the first.
  const dueSpans = Math.min(options.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, maxBuffered);
  // Each span is encoded as it ends: encoding a flush's hundreds at once held the isolate's next
  // requests for milliseconds (bench/api's p95 at 10 connections), and one at a time costs its own
  // request a few microseconds instead.
  let buffered: string[] = [];
  // The send flushSoon has planned; spans ending before it go with it.
  let planned: Promise<void> | null = null;
  // Spans wait here until a flush. Each unit of work (a request, an object call, a job) ends with
  // flushSoon, whose timer runs inside the caller's waitUntil: a Worker may run one after its
  // response for as long as that promise is pending.
  const collect = (span: RecordedSpan) => {
    if (buffered.length >= maxBuffered) buffered.shift();
    buffered.push(encodeSpan(span));
  };

  async function flush(): Promise<void> {
    if (buffered.length === 0) return;
    // Callers start a flush beside their answer (waitUntil): yield first, so the send runs after
    // the answer is on its way, not before it.
    await yieldToOthers();
    if (buffered.length === 0) return;
    const spans = buffered;
    buffered = [];
    try {
      const res = await send(endpoint, {
        method: "POST",
        headers,
        body: exportRequest(options.service, SCOPE, spans),
        signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS),
      });
      await res.body?.cancel();
      if (!res.ok) options.onExportError?.(`the collector answered ${res.status} to ${spans.length} spans`);
    } catch (err) {
      options.onExportError?.(`could not send ${spans.length} spans: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  return {
    enabled: true,
    start(name, spanOptions = {}): TraceSpan {
      const parentTraceId = traceIdOf(spanOptions.parent);
      const parent = parentTraceId ? (spanOptions.parent ?? null) : null;
      const traceId = parentTraceId ?? randomHex(16);
      // Parent-based: a caller's decision stands; a new trace is kept at the configured ratio.
      const sampled = parent ? (Number.parseInt(parent.slice(53, 55), 16) & SAMPLED) === SAMPLED : sampledAtRatio(traceId, ratio);
      const spanId = randomHex(8);
      const traceparent = `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
      if (!sampled) return { traceparent, traceId, set() {}, rename() {}, fail() {}, end() {} };
      const span: RecordedSpan = {
        name,
        kind: kinds[spanOptions.kind ?? "internal"],
        traceId,
        spanId,
        ...(parent ? { parentSpanId: parent.slice(36, 52) } : {}),
        traceFlags: SAMPLED,
        startMs: spanOptions.startMs ?? Date.now(),
        endMs: 0,
        attributes: {},
      };
      if (spanOptions.attributes) setAttributes(span.attributes, spanOptions.attributes);
      let ended = false;
      return {
        traceparent,
        traceId,
        set(attributes) {
          if (!ended) setAttributes(span.attributes, attributes);
        },
        rename(newName) {
          if (!ended) span.name = newName;
        },
        fail(error) {
          if (!ended) span.error = error instanceof Error ? error.message : String(error);
        },
        end() {
          if (ended) return;
          ended = true;
          span.endMs = Math.max(Date.now(), span.startMs);
          collect(span);
        },
      };
    },
    flushSoon() {
      if (buffered.length >= dueSpans) return flush();
      // The caller that planned the send keeps it alive (its waitUntil); a later caller's spans go
      // with it, and holding every request open until then would cost more than the spans.
      if (planned || buffered.length === 0) return Promise.resolve();
      // Not unref'd in Node: a runner stopping awaits this send, which must come (a second at most).
      planned = new Promise<void>((resolve) => setTimeout(resolve, options.env.OTEL_BSP_SCHEDULE_DELAY)).then(() => {
        planned = null;
        return flush();
      });
      return planned;
    },
    flush,
  };
}
