// Moved to node/steps.ts, shared with `sparki run`; kept for runner/job.ts's import.
export * from "../node/steps.ts";
