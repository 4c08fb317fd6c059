/**
 * Tracing on: OpenTelemetry's SDK makes the spans, and they leave as OTLP over HTTP (JSON) to the
 * collector the OTEL_* variables name (core/tracing/context.ts). The Worker, the objects and the
 * runner each make one per service.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type SpanContext } from "@opentelemetry/api";
import { parseTraceParent } from "@opentelemetry/core";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import { tracesUrl, tracingOff, type SpanKindName, type TraceSpan, type Tracing, type TracingEnv } from "./context.ts";

const kinds: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

const MAX_BUFFERED_SPANS = 2048;
/** flushSoon sends at once when this many spans wait, else OTEL_BSP_SCHEDULE_DELAY after the first. */
const DUE_SPANS = 256;
const EXPORT_TIMEOUT_MS = 5000;

export function formatTraceparent(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

function parentContext(traceparent: string | null | undefined) {
  const parsed = traceparent ? parseTraceParent(traceparent) : null;
  return parsed ? trace.setSpanContext(ROOT_CONTEXT, parsed) : ROOT_CONTEXT;
}

function parseHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/** The ratio sampler's decision without its per-span hashing of the trace id when the ratio decides alone. */
function rootSampler(ratio: number): Sampler {
  if (ratio >= 1) return new AlwaysOnSampler();
  if (ratio <= 0) return new AlwaysOffSampler();
  return new TraceIdRatioBasedSampler(ratio);
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
  let buffered: ReadableSpan[] = [];
  // The send flushSoon has planned; spans ending before it go with it.
  let planned: Promise<void> | null = null;
  // Spans wait here until a flush. Each unit of work (a request, an object call, a job) ends with
  // flushSoon, whose timer runs inside the caller's waitUntil: a Worker may run one after its
  // response for as long as that promise is pending.
  const collect: SpanProcessor = {
    onStart() {},
    onEnd(span) {
      if (buffered.length >= MAX_BUFFERED_SPANS) buffered.shift();
      buffered.push(span);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": options.service }),
    sampler: new ParentBasedSampler({ root: rootSampler(options.env.OTEL_TRACES_SAMPLER_ARG) }),
    spanProcessors: [collect],
  });
  const tracer = provider.getTracer("sparki");

  const wrap = (span: Span): TraceSpan => {
    const sc = span.spanContext();
    return {
      traceparent: formatTraceparent(sc),
      traceId: sc.traceId,
      set: (attributes) => void span.setAttributes(attributes),
      rename: (name) => void span.updateName(name),
      fail(error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      },
      end: () => span.end(),
    };
  };

  async function flush(): Promise<void> {
    if (buffered.length === 0) return;
    // Callers start a flush beside their answer (waitUntil): yield first, so serialising and
    // sending run after the answer is on its way, not before it.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    if (buffered.length === 0) return;
    const spans = buffered;
    buffered = [];
    try {
      const res = await send(endpoint, {
        method: "POST",
        headers,
        body: JsonTraceSerializer.serializeRequest(spans) as Uint8Array<ArrayBuffer>,
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
    start(name, spanOptions = {}) {
      const span = tracer.startSpan(
        name,
        { kind: kinds[spanOptions.kind ?? "internal"], ...(spanOptions.attributes ? { attributes: spanOptions.attributes } : {}) },
        parentContext(spanOptions.parent),
      );
      return wrap(span);
    },
    flushSoon() {
      if (buffered.length >= DUE_SPANS) return flush();
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
