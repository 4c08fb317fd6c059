/**
 * The only place that knows how each Durable Object is addressed: one coordinator per build, one
 * dispatcher per runner pool, one orchestrator per release, one lock per project stage, one metrics
 * object per instance.
 * Callers ask for an object by what it stands for and never build an id themselves.
 */
import type { Bindings } from "../config.js";

type Namespaces = Pick<Bindings, "BUILD_COORDINATOR" | "RUNNER_DISPATCHER" | "DEPLOYMENT_ORCHESTRATOR" | "METRICS" | "STAGE_LOCK">;

/** The BuildCoordinator of one build. */
export function buildCoordinator(env: Pick<Namespaces, "BUILD_COORDINATOR">, buildId: string) {
  return env.BUILD_COORDINATOR.get(env.BUILD_COORDINATOR.idFromName(buildId));
}

/** The RunnerDispatcher of one pool (`workspacePool(id)` or `sharedPool`). */
export function runnerDispatcher(env: Pick<Namespaces, "RUNNER_DISPATCHER">, pool: string) {
  return env.RUNNER_DISPATCHER.get(env.RUNNER_DISPATCHER.idFromName(pool));
}

/** The DeploymentOrchestrator of one release. */
export function deploymentOrchestrator(env: Pick<Namespaces, "DEPLOYMENT_ORCHESTRATOR">, releaseId: string) {
  return env.DEPLOYMENT_ORCHESTRATOR.get(env.DEPLOYMENT_ORCHESTRATOR.idFromName(releaseId));
}

/** The StageLock of one project's stage: whose turn it is to deploy it. */
export function stageLock(env: Pick<Namespaces, "STAGE_LOCK">, projectId: string, stage: string) {
  return env.STAGE_LOCK.get(env.STAGE_LOCK.idFromName(`${projectId}:${stage}`));
}

/** The one Metrics object that adds up every isolate's and object's samples. */
export function metricsObject(env: Pick<Namespaces, "METRICS">) {
  return env.METRICS.get(env.METRICS.idFromName("global"));
}
