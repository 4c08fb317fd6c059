/**
 * A deployment stage's turn-taking: one StageLock per project and stage. At most one release
 * deploys (or verifies, or rolls back) a stage at a time; one more may wait its turn, and a newer
 * one that comes to wait supersedes the waiting one (it would only deploy an older build).
 */
import { z } from "zod";

/** What a release learns when it asks for its turn on a stage. */
export const Turn = z.discriminatedUnion("status", [
  /** Its turn: deploy now, and `release` the stage when done with it. */
  z.object({ status: z.literal("granted") }),
  /** Another release holds the stage: wait; the lock wakes this release's orchestrator on its turn. */
  z.object({ status: z.literal("queued"), behind: z.string() }),
  /** A newer release came to wait for the stage: give up on it. */
  z.object({ status: z.literal("superseded"), by: z.string() }),
]);
export type Turn = z.infer<typeof Turn>;

/** What a stub of a stage's lock answers (server/objects/clients.ts hands these out). */
export interface StageLockRpc extends Rpc.DurableObjectBranded {
  /** Asks for the stage's turn for a release. Asking again while holding or waiting is harmless. */
  acquire(releaseId: string): Promise<Turn>;
  /** The release is done with the stage (or no longer waits for it): the waiting one, if any, gets its turn. */
  release(releaseId: string): Promise<void>;
}
