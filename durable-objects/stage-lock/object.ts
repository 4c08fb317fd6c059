import { DurableObject } from "cloudflare:workers";
import { DEPLOYMENT_FINISHED } from "../../core/deploy/machine.ts";
import type { Bindings } from "../../server/config.js";
import { deploymentOrchestrator } from "../../server/objects/clients.js";
import type { StageLockRpc, Turn } from "../../server/objects/stage-lock/protocol.js";
import { objectLogger } from "../../server/log.js";
import { describeError, type Logger } from "../../core/logging/logger.js";

interface LockState {
  /** The release deploying the stage, or null. */
  holder: string | null;
  /** The one release waiting for its turn, or null. */
  waiting: string | null;
  /** Releases a newer one superseded (the last few), so a late ask from one never jumps back in. */
  superseded: string[];
}

const keepSuperseded = 50;

/**
 * StageLock: one per project and stage (`${projectId}:${stage}`), so two releases never deploy one
 * stage at once. A Durable Object is the one place every Worker isolate and orchestrator reaches
 * with its calls run one at a time and its state stored strongly, with no lease to expire and no
 * polling: a Postgres row lock would last only as long as one transaction, while a stage's turn
 * lasts minutes (deploy, health checks, canary steps). The orchestrators stay the authority on
 * their own progress: the lock asks a holder's orchestrator whether it still uses the stage before
 * making anyone wait, so a lost `release` cannot hold a stage forever.
 */
export class StageLock extends DurableObject<Bindings> implements StageLockRpc {
  #logger: Logger | undefined;

  /** Lines about this stage's turns, correlated by the lock's name (`${projectId}:${stage}`). */
  #log(): Logger {
    this.#logger ??= objectLogger(this.env, "stage-lock", this.ctx.id.name ?? null);
    return this.#logger;
  }

  async #state(): Promise<LockState> {
    return (await this.ctx.storage.get<LockState>("lock")) ?? { holder: null, waiting: null, superseded: [] };
  }

  async acquire(releaseId: string): Promise<Turn> {
    let state = await this.#state();
    const stale = state.holder !== null && state.holder !== releaseId && !(await this.#stillHolds(state.holder)) ? state.holder : null;
    // Read again after the call out (other calls may have run meanwhile); from here on only storage is awaited.
    state = await this.#state();
    if (stale !== null && state.holder === stale) {
      this.#log().warn(`release ${stale} held the stage but is no longer deploying it; its turn is over`, { deployment_id: stale });
      state.holder = null;
    }
    if (state.superseded.includes(releaseId)) return { status: "superseded", by: state.waiting ?? state.holder ?? "a newer deployment" };
    if (state.holder === releaseId) return { status: "granted" };
    if (state.holder === null) {
      state.holder = releaseId;
      if (state.waiting === releaseId) state.waiting = null;
      await this.ctx.storage.put("lock", state);
      this.#log().info(`release ${releaseId} has the stage`, { deployment_id: releaseId });
      return { status: "granted" };
    }
    const previous = state.waiting !== releaseId ? state.waiting : null;
    state.waiting = releaseId;
    if (previous !== null) state.superseded = [...state.superseded, previous].slice(-keepSuperseded);
    await this.ctx.storage.put("lock", state);
    this.#log().info(`release ${releaseId} waits behind ${state.holder}`, { deployment_id: releaseId, behind: state.holder, superseded: previous });
    // The superseded release sleeps until woken: it asks again, learns it was superseded, and ends.
    if (previous !== null) await this.#wake(previous);
    return { status: "queued", behind: state.holder };
  }

  async release(releaseId: string): Promise<void> {
    const state = await this.#state();
    if (state.waiting === releaseId) state.waiting = null;
    if (state.holder !== releaseId) {
      await this.ctx.storage.put("lock", state);
      return;
    }
    state.holder = state.waiting;
    state.waiting = null;
    await this.ctx.storage.put("lock", state);
    if (state.holder !== null) await this.#wake(state.holder);
  }

  /** Whether a holder's orchestrator is still at work (not finished); an unreachable one counts as at work. */
  async #stillHolds(releaseId: string): Promise<boolean> {
    try {
      const view = await deploymentOrchestrator(this.env, releaseId).view();
      return view !== null && !DEPLOYMENT_FINISHED.has(view.status);
    } catch {
      return true;
    }
  }

  async #wake(releaseId: string): Promise<void> {
    // A lost wake-up only delays: a waiting orchestrator also asks again on its own every minute.
    await deploymentOrchestrator(this.env, releaseId)
      .wake()
      .catch((err: unknown) =>
        this.#log().warn(`could not wake release ${releaseId}; it asks again within a minute`, { deployment_id: releaseId, ...describeError(err) }),
      );
  }
}
