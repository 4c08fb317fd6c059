/**
 * What `sparki-runner` prints about itself: `text` (a timestamp and a sentence, for a person at a
 * terminal; the default) or `json` (`--log-format json`: the operators' log lines every Sparki part
 * writes, core/logging/logger.ts, for a log shipper). Not a job's output: that goes to the
 * control plane.
 */
import { Logger, type LogLevel } from "../core/logging/logger.ts";

export const logFormats = ["text", "json"] as const;
export type LogFormat = (typeof logFormats)[number];

/** What a line is about, when it is about a job. */
export interface SayContext {
  job_id?: string;
  build_id?: string;
  /** The job's trace and workspace: a JSON line's own `trace_id` and `workspace_id`, not metadata. */
  trace_id?: string;
  workspace_id?: string;
  level?: LogLevel;
}

export type Say = (message: string, context?: SayContext) => void;

/** The runner's service name in the operators' log. */
export const runnerService = "sparki-runner";

function write(level: LogLevel, line: string): void {
  (level === "error" ? process.stderr : process.stdout).write(`${line}\n`);
}

/**
 * A `say` for the format. JSON lines about a job are correlated by its build id, as the
 * coordinator's lines about that build are, and carry the build's trace id and workspace.
 */
export function sayer(format: LogFormat): Say {
  if (format === "text") return (message, context) => write(context?.level ?? "info", `${new Date().toISOString()} ${message}`);
  const log = new Logger({ service: runnerService, component: "agent", correlationId: null }, "debug", write);
  return (message, context = {}) => {
    const { level = "info", trace_id, workspace_id, ...ids } = context;
    const about = ids.build_id ? log.child({ correlationId: ids.build_id, component: "job", traceId: trace_id, workspaceId: workspace_id }) : log;
    about[level](message, ids);
  };
}
