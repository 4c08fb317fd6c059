/** Structured JSON log lines in the seed's format, one object per line on stdout. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogFields {
  service: string;
  component: string;
  correlationId: string;
  userId?: string | undefined;
  workspaceId?: string | undefined;
}

export class Logger {
  readonly fields: LogFields;
  readonly #min: number;

  constructor(fields: LogFields, level: LogLevel = "info") {
    this.fields = fields;
    this.#min = order[level];
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
    const line = JSON.stringify({
      timestamp: new Date().toISOString(),
      level: level.toUpperCase(),
      service: this.fields.service,
      component: this.fields.component,
      correlation_id: this.fields.correlationId,
      user_id: this.fields.userId ?? null,
      workspace_id: this.fields.workspaceId ?? null,
      message,
      metadata,
    });
    if (level === "error") console.error(line);
    else console.log(line);
  }
}

/** Error details for a log line: name, message and stack stay server-side. */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { error: String(err) };
  return { error: err.message, name: err.name, stack: err.stack, cause: err.cause instanceof Error ? err.cause.message : undefined };
}
