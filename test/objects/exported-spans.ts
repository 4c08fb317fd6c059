/**
 * The spans an object exports, taken from `fetch` in the Workers pool: tests turn an object's
 * tracing on by giving the live instance an env whose OTLP endpoint is {@link otlpEndpoint}, and
 * read what it sent here instead of a collector. Other requests pass on.
 */
import { afterEach, beforeEach, vi } from "vitest";

export const otlpEndpoint = "http://otlp.test";

export interface ExportedSpan {
  name: string;
  traceId: string;
  parentSpanId?: string;
  startTimeUnixNano: string;
  status: { code: number; message?: string };
  attributes: { key: string; value: { stringValue?: string; intValue?: number; boolValue?: boolean; arrayValue?: { values: { stringValue: string }[] } } }[];
}
type ExportRequest = { resourceSpans: { scopeSpans: { spans: ExportedSpan[] }[] }[] };

/** Installs the capture around each test of the calling file; the spans exported so far in the test. */
export function captureExportedSpans(): () => ExportedSpan[] {
  let exported: ExportedSpan[] = [];
  beforeEach(() => {
    exported = [];
    const passOn = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      if (!String(input instanceof Request ? input.url : input).startsWith(otlpEndpoint)) return passOn(input, init);
      const body = JSON.parse(String(init?.body)) as ExportRequest;
      exported.push(...body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
      return new Response("{}", { headers: { "content-type": "application/json" } });
    });
  });
  afterEach(() => vi.restoreAllMocks());
  return () => exported;
}

/** A span's attribute value. */
export const attributeOf = (span: ExportedSpan, key: string) => span.attributes.find((a) => a.key === key)?.value;
