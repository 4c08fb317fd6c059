/**
 * The Worker's and the objects' tracing (core/tracing/), one per service and isolate:
 * spans wait in it until the request, queue batch or object call that made them flushes it.
 */
import { Logger } from "../core/logging/logger.js";
import type { Tracing } from "../core/tracing/context.js";
import { createTracing } from "../core/tracing/otlp.js";
import type { Config } from "./config.js";
import { apiService } from "./log.js";

const tracings = new Map<string, Tracing>();
/** By config object first: configOf hands every request of an isolate the same one, and the key below costs a JSON.stringify. */
const byConfig = new WeakMap<Config, Map<string, Tracing>>();

/** The Tracing of one service (`sparki-api`, `sparki-build-coordinator`, ...) under this config. */
export function tracingOf(config: Config, service: string): Tracing {
  let ofConfig = byConfig.get(config);
  if (!ofConfig) byConfig.set(config, (ofConfig = new Map()));
  const known = ofConfig.get(service);
  if (known) return known;
  const tracing = tracingByValue(config, service);
  ofConfig.set(service, tracing);
  return tracing;
}

/** One Tracing per service and settings, however many config objects name them (its buffered spans are shared). */
function tracingByValue(config: Config, service: string): Tracing {
  const key = JSON.stringify([
    service,
    config.OTEL_EXPORTER_OTLP_ENDPOINT,
    config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    config.OTEL_EXPORTER_OTLP_HEADERS,
    config.OTEL_TRACES_SAMPLER_ARG,
    config.OTEL_BSP_SCHEDULE_DELAY,
    config.OTEL_BSP_MAX_QUEUE_SIZE,
    config.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
  ]);
  let tracing = tracings.get(key);
  if (!tracing) {
    const log = new Logger({ service: apiService, component: "tracing", correlationId: null }, config.LOG_LEVEL);
    tracing = createTracing({ service, env: config, onExportError: (message) => log.warn(`traces not exported: ${message}`, { service }) });
    tracings.set(key, tracing);
  }
  return tracing;
}
