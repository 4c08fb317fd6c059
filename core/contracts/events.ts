import { z } from "zod";

const base = { correlationId: z.string().max(128), occurredAt: z.iso.datetime({ offset: true }) };

/** Messages carried by the `sparki-events` queue; anything else goes to the dead-letter queue. */
export const SparkiEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("build.requested"), buildId: z.uuid(), projectId: z.uuid(), ...base }),
  z.object({
    type: z.literal("build.completed"),
    buildId: z.uuid(),
    projectId: z.uuid(),
    status: z.enum(["succeeded", "failed", "cancelled", "timed_out"]),
    ...base,
  }),
  z.object({ type: z.literal("deploy.requested"), deploymentId: z.uuid(), buildId: z.uuid(), ...base }),
  // A deleted project's R2 objects (logs, artifacts, sites, snapshots: all of `projects/{id}/`)
  // are removed by the consumer in batches; sent again later to sweep up late writers.
  z.object({ type: z.literal("project.deleted"), projectId: z.uuid(), ...base }),
]);
export type SparkiEvent = z.infer<typeof SparkiEvent>;
