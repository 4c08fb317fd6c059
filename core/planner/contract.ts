/**
 * What the API asks the planner Worker (planner/) and what it answers, parsed on the API's side.
 * Only schemas here: the API imports this file without the detector or the YAML parser.
 */
import { z } from "zod";
import { DetectionSchema } from "../detect/schema.ts";
import { PipelineSchema } from "../pipeline/schema.ts";

export const PlanRequest = z.object({
  /** The snapshot: manifests and config files, by path. */
  files: z.array(z.object({ path: z.string(), content: z.string() })),
  /** The project's name, for the pipeline's. */
  name: z.string(),
  /** Which of the files is the sparki.yml to apply, if any. */
  configPath: z.string().nullable(),
  /** A detection of this snapshot already made (cached, or the previous version's): reused, not redone. */
  detection: DetectionSchema.nullable(),
});
export type PlanRequest = z.infer<typeof PlanRequest>;

export const ConfigIssueSchema = z.object({ path: z.string(), line: z.number().int(), column: z.number().int(), message: z.string() });

export const PlanOutcome = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), detection: DetectionSchema, pipeline: PipelineSchema }),
  /** The sparki.yml does not parse or validate: nothing was planned. */
  z.object({ ok: z.literal(false), issues: z.array(ConfigIssueSchema) }),
]);
export type PlanOutcome = z.infer<typeof PlanOutcome>;

/** The planner Worker's RPC surface (a named entrypoint, bound to the API as PLANNER). */
export interface PlannerRpc {
  plan(request: PlanRequest): Promise<PlanOutcome>;
}
