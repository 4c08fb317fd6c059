/** The Worker's logger is the one every part shares (core/logging/logger.ts); re-exported for the Worker's files. */
export { describeError, Logger, type LogFields, type LogLevel } from "../core/logging/logger.js";
