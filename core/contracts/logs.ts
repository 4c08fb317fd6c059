import { z } from "zod";
import { BUILD_STATUSES } from "../build/index.ts";

/**
 * A build's log as viewers see it: every job's lines in the order they reached the coordinator,
 * numbered by `seq` from 1 with no gaps. `?from=SEQ` on the socket replays from that number.
 */
export const ViewerLogLine = z.object({
  seq: z.number().int().positive(),
  jobId: z.string(),
  step: z.string(),
  ts: z.number().int(),
  text: z.string(),
  partial: z.literal(true).optional(),
});
export type ViewerLogLine = z.infer<typeof ViewerLogLine>;

/** Server → viewer frames on `GET /v1/builds/:id/logs`. */
export const ViewerFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("lines"), lines: z.array(ViewerLogLine) }),
  z.object({ type: z.literal("status"), status: z.enum(BUILD_STATUSES) }),
]);
export type ViewerFrame = z.infer<typeof ViewerFrame>;

export const LogQuery = z.strictObject({ from: z.coerce.number().int().min(1).default(1) });
