/**
 * Taking turns on a stage (durable-objects/stage-lock): before a release deploys a stage it asks
 * the stage's lock for its turn, and once it is done with the stage (healthy and moved on, rolled
 * back, failed, cancelled) it lets the next one have it. While it waits, its stage deadline is off
 * (waiting is not deploying) and it sleeps until the lock wakes it, asking again each minute in
 * case a wake-up was lost.
 */
import type { Meta } from "../../server/objects/deployment-orchestrator/protocol.js";
import { stageLock } from "../../server/objects/clients.js";
import { configOf } from "../../server/config.js";
import type { StageHost } from "./steps.js";

const askAgainMs = 60_000;

/** What the deploy step does next: go on, wait until `wakeAt`, or stop (the state moved: superseded). */
export type TurnOutcome = { go: true } | { go: false; wakeAt: number | null };

/** Asks for the stage's turn unless this release holds it already. */
export async function takeTurn(host: StageHost, meta: Meta, stage: string, now: number): Promise<TurnOutcome> {
  if (meta.holding === stage) return { go: true };
  await letGo(host, meta, stage);
  const turn = await stageLock(host.env, meta.init.projectId, stage).acquire(meta.init.releaseId);
  if (turn.status === "granted") {
    if (meta.queuedFor === stage) {
      host.record(meta, "stage_turn", stage, `stage ${stage} is free: deploying`);
      // The stage's time to deploy starts now, not when the release began to wait.
      meta.deadline = now + configOf(host.env).DEPLOY_STAGE_TIMEOUT_SECONDS * 1000;
    }
    meta.holding = stage;
    meta.queuedFor = null;
    return { go: true };
  }
  if (turn.status === "superseded") {
    meta.queuedFor = null;
    const reason = `superseded by deployment ${turn.by} while waiting for stage ${stage}`;
    host.apply(meta, { type: "cancel", reason }, "superseded", stage, reason);
    return { go: false, wakeAt: null };
  }
  if (meta.queuedFor !== stage) host.record(meta, "queued", stage, `waits for deployment ${turn.behind} to finish with stage ${stage}`);
  meta.queuedFor = stage;
  meta.deadline = null;
  return { go: false, wakeAt: now + askAgainMs };
}

/**
 * Lets go of the stage this release holds or waits for once its state no longer needs it
 * (`keep` names a stage it is about to take, which it keeps).
 */
export async function letGo(host: StageHost, meta: Meta, keep: string | null = null): Promise<void> {
  const current = meta.init.stages[meta.state.current]?.name ?? null;
  const active = meta.state.status === "deploying" || meta.state.status === "verifying" || meta.state.status === "rolling_back";
  const needed = active ? current : null;
  for (const field of ["holding", "queuedFor"] as const) {
    const stage = meta[field];
    if (!stage || stage === needed || stage === keep) continue;
    if (field === "holding" && stage === current && active) continue;
    await stageLock(host.env, meta.init.projectId, stage).release(meta.init.releaseId);
    meta[field] = null;
  }
}
