/**
 * The operators' log for the Durable Objects: the shared Logger (core/logging/logger.ts) with the
 * service name and level the Worker uses, so an object's lines look like the API's. An object has
 * no request: its correlation id is the aggregate it owns (a build, a deployment, a pool).
 */
import { Logger, type LogFields } from "../core/logging/logger.js";
import { configOf, type Bindings } from "./config.js";

/** The service name every line from the Worker and its objects carries (the seed's `sparki-api`). */
export const apiService = "sparki-api";

/** A logger for one object instance, at the deployment's LOG_LEVEL. */
export function objectLogger(env: Bindings, component: string, correlationId: string | null, fields: Partial<LogFields> = {}): Logger {
  return new Logger({ service: apiService, component, correlationId, ...fields }, configOf(env).LOG_LEVEL);
}
