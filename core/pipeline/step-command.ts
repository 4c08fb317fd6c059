import type { Job, Step } from "./schema.ts";

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * The shell command a pipeline step runs from the checkout's root: the step's own, from the
 * job's working directory. The coordinator's expandPipeline (for runners) and `sparki run` both
 * use it, so a step runs the same command in both.
 */
export function stepCommand(job: Pick<Job, "workingDirectory">, step: Pick<Step, "run">): string {
  const cd = job.workingDirectory !== "." && job.workingDirectory !== "" ? `cd ${shellQuote(job.workingDirectory)} && ` : "";
  return `${cd}${step.run}`;
}

/** The ids a job's steps get (SPARKI_STEP_ID, the log's step): slugs of their names, unique in the job. */
export function stepIds(steps: readonly Pick<Step, "name">[]): string[] {
  const taken = new Set<string>();
  return steps.map((step, index) => {
    const base =
      step.name
        .toLowerCase()
        .replace(/[^a-z0-9_-]+/g, "-")
        .replace(/^-+|-+$/g, "")
        .slice(0, 48) || "step";
    let id = /^[a-z0-9]/.test(base) ? base : `s-${base}`;
    if (taken.has(id)) id = `${id}-${index + 1}`;
    taken.add(id);
    return id;
  });
}
