/** The deployment's contribution to /metrics, sent once when it finishes. */
import { Registry } from "../../server/metrics/registry.js";
import { stageLabel } from "../../server/metrics/labels.js";
import type { Bindings } from "../../server/config.js";
import type { Meta } from "../../server/objects/deployment-orchestrator/protocol.js";
import { metricsObject } from "../../server/objects/clients.js";

/** Deployment durations: 10 s to 2 h. */
export const deployBuckets = [10, 30, 60, 120, 300, 600, 1800, 3600, 7200] as const;

/** Why a deployment was rolled back, as a small fixed set of label values. */
export function rollbackReason(reason: string | null): string {
  if (!reason) return "unknown";
  if (reason.startsWith("rolled back by hand")) return "manual";
  if (reason.includes("health check")) return "health_check";
  if (reason.includes("failed to deploy")) return "deploy_failed";
  if (reason.includes("timed out") || reason.includes("ran out of time")) return "timeout";
  if (reason.startsWith("cancelled")) return "cancelled";
  return "other";
}

/**
 * `first`: the deployment just finished: per stage that ran, its time from deploy to healthy (or
 * to its end) and whether it became healthy, by stage and platform; and the finished count.
 * Later, a succeeded deployment rolled back by hand adds only to the rollback counter.
 */
export async function deploymentMetrics(env: Bindings, meta: Meta, first: boolean): Promise<void> {
  const registry = new Registry();
  const { status, reason } = meta.state;
  if (status === "rolled_back" || (status === "failed" && reason?.includes("the rollback failed")))
    registry.inc("sparki_deployment_rollback_total", { reason: rollbackReason(reason) });
  if (first) {
    registry.inc("sparki_deployments_finished_total", { status });
    meta.init.stages.forEach((plan, i) => {
      const times = meta.times[i];
      if (!times || times.startedAt === null) return;
      const labels = { stage: stageLabel(plan.name, meta.init.trigger), platform: plan.platform };
      // A deployment that succeeded counts once for each of its stages.
      if (status === "succeeded") registry.inc("sparki_deployment_success_total", labels);
      if (times.completedAt !== null)
        registry.observe("sparki_deployment_duration_seconds", labels, (times.completedAt - times.startedAt) / 1000, deployBuckets);
    });
  }
  // Metrics never hold a deployment up: a lost sample is better than a stuck orchestrator.
  await metricsObject(env)
    .record(registry.drain())
    .catch(() => undefined);
}
