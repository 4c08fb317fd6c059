/** The deployment's contribution to /metrics, sent once when it finishes. */
import { Registry } from "../../server/metrics/registry.js";
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
 * `first`: the deployment just finished (success, duration, finished count). Later, a succeeded
 * deployment rolled back by hand adds only to the rollback counter.
 */
export async function deploymentMetrics(env: Bindings, meta: Meta, first: boolean): Promise<void> {
  const registry = new Registry();
  const labels = { project: meta.init.projectId };
  const { status, reason } = meta.state;
  if (status === "rolled_back" || (status === "failed" && reason?.includes("the rollback failed")))
    registry.inc("sparki_deployment_rollback_total", { reason: rollbackReason(reason) });
  if (first) {
    if (status === "succeeded") registry.inc("sparki_deployment_success_total", labels);
    registry.inc("sparki_deployments_finished_total", { status });
    if (meta.completedAt !== null)
      registry.observe("sparki_deployment_duration_seconds", labels, (meta.completedAt - meta.init.createdAt) / 1000, deployBuckets);
  }
  // Metrics never hold a deployment up: a lost sample is better than a stuck orchestrator.
  await metricsObject(env)
    .record(registry.drain())
    .catch(() => undefined);
}
