/**
 * The operators' log: one JSON object per line, in the seed's format, written by the Worker, every
 * Durable Object and the runner (`--log-format json`). Runtime-free (the sink is injected; the
 * default is `console`, which workerd and Node both have) so every part writes the same shape.
 * This is not a build's log: that is the user's output, in core/log/.
 */
import { z } from "zod";

export const logLevels = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof logLevels)[number];
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * One line, as written (`JSON.parse` of it). `correlation_id` ties lines of one piece of work
 * together: the request id in the Worker, the aggregate's id (build, deployment, pool) in an
 * object and in the runner's lines about a job. `trace_id` is the W3C trace id when the work is
 * traced. `metadata` holds the line's own fields (ids, durations, error details).
 */
export const LogLine = z.strictObject({
  timestamp: z.iso.datetime(),
  level: z.enum(["DEBUG", "INFO", "WARN", "ERROR"]),
  service: z.string().min(1),
  component: z.string().min(1),
  correlation_id: z.string().min(1).nullable(),
  trace_id: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .nullable(),
  user_id: z.string().min(1).nullable(),
  workspace_id: z.string().min(1).nullable(),
  message: z.string(),
  metadata: z.record(z.string(), z.unknown()),
});
export type LogLine = z.infer<typeof LogLine>;

/** Who writes, and about what; set once per logger (request, object, job), mutable as it learns more. */
export interface LogFields {
  service: string;
  component: string;
  correlationId: string | null;
  traceId?: string | undefined;
  userId?: string | undefined;
  workspaceId?: string | undefined;
}

/** Where a finished line goes. */
export type LogSink = (level: LogLevel, line: string) => void;

/** stdout, and stderr for errors (so a platform that colours stderr shows them). */
export const consoleSink: LogSink = (level, line) => {
  if (level === "error") console.error(line);
  else console.log(line);
};

export class Logger {
  readonly fields: LogFields;
  readonly #min: number;
  readonly #level: LogLevel;
  readonly #sink: LogSink;

  constructor(fields: LogFields, level: LogLevel = "info", sink: LogSink = consoleSink) {
    this.fields = fields;
    this.#level = level;
    this.#min = order[level];
    this.#sink = sink;
  }

  /** A logger for narrower work (a job of a build, say): the same level and sink, some fields replaced. */
  child(fields: Partial<LogFields>): Logger {
    return new Logger({ ...this.fields, ...fields }, this.#level, this.#sink);
  }

  debug(message: string, metadata?: Record<string, unknown>): void {
    this.#write("debug", message, metadata);
  }
  info(message: string, metadata?: Record<string, unknown>): void {
    this.#write("info", message, metadata);
  }
  warn(message: string, metadata?: Record<string, unknown>): void {
    this.#write("warn", message, metadata);
  }
  error(message: string, metadata?: Record<string, unknown>): void {
    this.#write("error", message, metadata);
  }

  #write(level: LogLevel, message: string, metadata: Record<string, unknown> = {}): void {
    if (order[level] < this.#min) return;
    const line: LogLine = {
      timestamp: new Date().toISOString(),
      level: level === "debug" ? "DEBUG" : level === "info" ? "INFO" : level === "warn" ? "WARN" : "ERROR",
      service: this.fields.service,
      component: this.fields.component,
      correlation_id: this.fields.correlationId,
      trace_id: this.fields.traceId ?? null,
      user_id: this.fields.userId ?? null,
      workspace_id: this.fields.workspaceId ?? null,
      message,
      metadata,
    };
    this.#sink(level, JSON.stringify(line));
  }
}

/** Error details for a log line: name, message and stack stay in the operators' log, never in an answer. */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { error: String(err) };
  return { error: err.message, name: err.name, stack: err.stack, cause: err.cause instanceof Error ? err.cause.message : undefined };
}
