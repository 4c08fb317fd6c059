// Moved to node/sandbox.ts, shared with `sparki run`; kept for runner/job.ts's import.
export * from "../node/sandbox.ts";
