/**
 * The runner's traces: its jobs and steps as spans under the build's trace (the claimed job's
 * traceparent), sent to the collector its own OTEL_* variables name. The span recorder and OTLP
 * encoder (core/tracing/otlp.ts, Sparki's own, encoding as OpenTelemetry's serializer does) load
 * only when they do, so a runner without tracing starts as fast as before.
 */
import { TracingEnv, tracesUrl, tracingOff, type Tracing } from "../core/tracing/context.ts";
import { UserError } from "../node/user-error.ts";

export async function runnerTracing(env: NodeJS.ProcessEnv, warn: (message: string) => void): Promise<Tracing> {
  const parsed = TracingEnv.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${String(issue?.path[0] ?? "OTEL_*")}: ${issue?.message ?? "invalid"}`);
  }
  if (!tracesUrl(parsed.data)) return tracingOff;
  const { createTracing } = await import("../core/tracing/otlp.ts");
  return createTracing({ service: "sparki-runner", env: parsed.data, onExportError: (message) => warn(`traces not exported: ${message}`) });
}
