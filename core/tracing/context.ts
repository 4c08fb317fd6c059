/**
 * What Sparki's parts share about traces before any span is recorded: the W3C `traceparent` they
 * pass each other (a request header, queue messages, object calls, a claimed job, a step's
 * TRACEPARENT), the OTEL_* variables, and the Tracing interface with its off state. The recorder
 * and the OTLP export are in otlp.ts, loaded only where tracing is on (the runner imports it lazily).
 */
import type { Attributes } from "@opentelemetry/api";
import { z } from "zod";

/**
 * A W3C Trace Context `traceparent` (version 00), as the parts pass it to each other: parsed
 * strictly at every boundary. The API reads its own header leniently instead (an invalid one
 * starts a new trace, as the spec asks, rather than failing the request).
 */
export const Traceparent = z.string().regex(/^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/, "must be a W3C traceparent");

/** The trace id of a traceparent, or null when it is not a valid one. */
export function traceIdOf(traceparent: string | null | undefined): string | null {
  return traceparent && Traceparent.safeParse(traceparent).success ? traceparent.slice(3, 35) : null;
}

/** The standard OpenTelemetry variables Sparki reads (each part from its own environment). */
export const TracingEnv = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  // A full URL for traces alone; without it, the endpoint above plus /v1/traces.
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  // `key=value,key2=value2` (URL-encoded values), e.g. a collector's API key.
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  // The share of new traces kept, 0 to 1; a trace started elsewhere keeps its caller's decision.
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  // Milliseconds a span waits to go with the others ending meanwhile (OpenTelemetry's batch delay).
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(0).max(60_000).default(1000),
  // Spans that wait at most, the oldest dropped beyond it, and how many waiting are sent at once.
  OTEL_BSP_MAX_QUEUE_SIZE: z.coerce.number().int().min(1).max(100_000).default(2048),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(512),
});
export type TracingEnv = z.infer<typeof TracingEnv>;

/** The OTLP/HTTP traces URL the variables name, or null when tracing is off. */
export function tracesUrl(env: TracingEnv): string | null {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`;
  return null;
}

export type SpanKindName = "server" | "client" | "internal" | "producer" | "consumer";

export interface SpanOptions {
  /** The caller's traceparent; absent or invalid starts a new trace. */
  parent?: string | null | undefined;
  kind?: SpanKindName;
  attributes?: Attributes;
  /**
   * When the span began (milliseconds since the epoch), for a wait recorded once it is over (a
   * job's time in a runner pool, recorded when a runner takes it); now when absent.
   */
  startMs?: number;
}

/** One span; a no-op when tracing is off, apart from carrying the parent's traceparent on. */
export interface TraceSpan {
  /** What the next hop gets as its parent; null when there is no trace to carry. */
  readonly traceparent: string | null;
  readonly traceId: string | null;
  set(attributes: Attributes): void;
  /** Names the span once its name is known (a request's route, after routing). */
  rename(name: string): void;
  /** Marks the span failed, with the error's message. */
  fail(error: unknown): void;
  end(): void;
}

export interface Tracing {
  readonly enabled: boolean;
  start(name: string, options?: SpanOptions): TraceSpan;
  /** Sends what ended since the last flush; never throws (a collector that is down loses spans, not work). */
  flush(): Promise<void>;
  /**
   * {@link flush} a moment later: everything that ends within the next second goes in one send
   * (at once when many spans wait), so a busy part sends a batch a second, not one per request,
   * queue batch or object call. The call that plans the send gets it, resolving once it is done
   * (pass it to `waitUntil`); a call while one is planned resolves at once, its spans going too.
   */
  flushSoon(): Promise<void>;
}

/** Runs `work` in a span of `tracing`, ended when it returns and marked failed when it throws. */
export async function inSpan<T>(tracing: Tracing, name: string, options: SpanOptions, work: (span: TraceSpan) => Promise<T>): Promise<T> {
  const span = tracing.start(name, options);
  try {
    return await work(span);
  } catch (err) {
    span.fail(err);
    throw err;
  } finally {
    span.end();
  }
}

/** Tracing off: spans carry their parent on and record nothing. */
export const tracingOff: Tracing = {
  enabled: false,
  start(_name, options = {}) {
    const traceId = traceIdOf(options.parent);
    const traceparent = traceId ? (options.parent ?? null) : null;
    return { traceparent, traceId, set() {}, rename() {}, fail() {}, end() {} };
  },
  flush: async () => {},
  flushSoon: async () => {},
};
