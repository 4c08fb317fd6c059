/**
 * Why a build's queued jobs have not started, said in words on GET /v1/builds/:id (and so in
 * `sparki builds trigger --follow` and the dashboard): a job that no online runner can take must
 * not look like one about to start. The coordinator names jobs waiting on other jobs; for a job
 * already offered, the pools' dispatchers say which runners they heard from lately (claims, and
 * heartbeats of busy runners) and which are polling now.
 */
import type { BuildView } from "../../server/objects/build-coordinator/protocol.js";
import { runnerDispatcher } from "../../server/objects/clients.js";
import { type LabelPresence, onlineWindowMs } from "../../server/objects/runner-dispatcher/protocol.js";

type Env = Parameters<typeof runnerDispatcher>[0];
type Job = BuildView["jobs"][number];

/** The reason for one offered job, from what its pools know of runners that fit it. */
export function runnerReason(labels: readonly string[], presence: LabelPresence): string | null {
  const which = labels.length > 0 ? ` with labels ${labels.join(", ")}` : "";
  if (presence.online === 0) return `no runner online${which}`;
  if (presence.idle === 0)
    return `${presence.online === 1 ? "the one runner" : `all ${presence.online} runners`}${which} ${presence.online === 1 ? "is" : "are"} busy`;
  return null;
}

/**
 * The view's jobs with `waiting` filled in for queued jobs that wait for a runner. `pools` are
 * the pools that could run them (the build's, less any its workspace's policy rules out).
 */
export async function explainWaiting(env: Env, jobs: Job[], pools: string[], leaseSeconds: number): Promise<Job[]> {
  const offered = jobs.filter((j) => j.status === "queued" && j.waiting === null);
  if (offered.length === 0 || pools.length === 0) return jobs;
  const sets = [...new Map(offered.map((j) => [JSON.stringify(j.labels), j.labels])).values()];
  const answers = await Promise.all(pools.map((pool) => runnerDispatcher(env, pool).presence(sets, onlineWindowMs(leaseSeconds))));
  const presenceOf = (labels: string[]) => {
    const i = sets.findIndex((s) => JSON.stringify(s) === JSON.stringify(labels));
    return answers.reduce<LabelPresence>((sum, a) => ({ online: sum.online + (a[i]?.online ?? 0), idle: sum.idle + (a[i]?.idle ?? 0) }), {
      online: 0,
      idle: 0,
    });
  };
  return jobs.map((j) => {
    if (j.status !== "queued" || j.waiting !== null) return j;
    const reason = runnerReason(j.labels, presenceOf(j.labels));
    return reason === null ? j : { ...j, waiting: { reason } };
  });
}
