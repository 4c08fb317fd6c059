import { z } from "zod";
import { Traceparent } from "../tracing/context.ts";

const base = {
  correlationId: z.string().max(128),
  occurredAt: z.iso.datetime({ offset: true }),
  // The sender's span: the consumer's work joins its trace (README "Operate Sparki").
  traceparent: Traceparent.optional(),
};

/** Messages carried by the `sparki-events` queue; anything else goes to the dead-letter queue. */
export const SparkiEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("build.requested"), buildId: z.uuid(), projectId: z.uuid(), ...base }),
  // The build's first job was claimed (queued → running); sent after Postgres has the status, for
  // the git hosts' commit statuses.
  z.object({ type: z.literal("build.started"), buildId: z.uuid(), projectId: z.uuid(), ...base }),
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
  // A verified GitHub webhook delivery: `event` is the typed event (server/github-app/queued-event.ts
  // checks it when consumed), `deliveryId` its X-GitHub-Delivery (a redelivery changes nothing).
  z.object({ type: z.literal("github.delivery"), deliveryId: z.string().min(1).max(100), event: z.record(z.string(), z.unknown()), ...base }),
  // A DeploymentOrchestrator's stage changed (status or URL) and Postgres has it: the git hosts'
  // deployment statuses follow (workers/github-reports.ts).
  z.object({ type: z.literal("deployment.changed"), releaseId: z.uuid(), projectId: z.uuid(), ...base }),
  // A pull request closed: its preview is removed (server/use-cases/close-preview.ts). `sweep` 1
  // is sent by the close's delivery, 2 a while later for what was in flight during the first.
  z.object({
    type: z.literal("preview.closed"),
    projectId: z.uuid(),
    pullRequest: z.number().int().positive().max(2_147_483_647),
    sweep: z.number().int().min(1).max(2),
    ...base,
  }),
  // A GitHub report (a build's check run, or a deployment's statuses) tried again after GitHub or
  // Postgres failed; `attempt` bounds the retries. Exactly one of buildId and releaseId.
  z.object({
    type: z.literal("github.report"),
    buildId: z.uuid().optional(),
    releaseId: z.uuid().optional(),
    attempt: z.number().int().min(1).max(10),
    ...base,
  }),
  // One notification to one channel (notification_deliveries row), sent again with a growing
  // delay while its channel answers 429, 5xx or nothing; `attempt` is the attempt this message makes.
  z.object({ type: z.literal("notify.deliver"), deliveryId: z.uuid(), attempt: z.number().int().min(1).max(10), ...base }),
]);
export type SparkiEvent = z.infer<typeof SparkiEvent>;
