/**
 * The deployment state machine (Loco): validate, then each stage in order (deploy → verify by
 * health checks at each traffic step → approval gate before the next stage), finishing
 * succeeded, or rolling back by itself when a stage turns unhealthy. Pure and total: the
 * orchestrator reads the clock, calls platforms and runs health checks, then feeds the outcomes
 * in as events, and applies what the state asks for (the traffic of the current step, the
 * rollbacks listed in `rollingBack`).
 */
import { illegal, moved, type Transition } from "../build/result.ts";

export const DEPLOYMENT_STATUSES = [
  "pending",
  "deploying",
  "verifying",
  "awaiting_approval",
  "rolling_back",
  "succeeded",
  "failed",
  "cancelled",
  "rolled_back",
] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export const DEPLOYMENT_FINISHED: ReadonlySet<DeploymentStatus> = new Set(["succeeded", "failed", "cancelled", "rolled_back"]);

export interface StagePlan {
  name: string;
  /** A person must approve before this stage is deployed. */
  approval: boolean;
  /** Consecutive passing checks that make the stage healthy, and failing ones that make it unhealthy. */
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** The stage's last healthy deployment, to roll back to; null when there is none. */
  previous: string | null;
  /**
   * Shares of traffic (percent) the new version goes through, each verified before the next:
   * [100] all at once, [0, 100] blue-green (verified unseen, then switched), canary e.g. [10, 50, 100].
   */
  trafficSteps: number[];
  /** The least time each traffic step holds, beyond its passing checks. */
  pauseMs: number;
}

export type StageStatus = "waiting" | "deploying" | "verifying" | "healthy" | "unhealthy" | "rolled_back" | "skipped";

export interface StageState extends StagePlan {
  status: StageStatus;
  /** The platform's id of what this stage deployed. */
  platformDeploymentId: string | null;
  passes: number;
  failures: number;
  /** Index into trafficSteps, and when that step began. */
  step: number;
  stepStartedAt: number | null;
}

/** A stage to put back on an earlier platform deployment. */
export interface RollbackTarget {
  stage: number;
  to: string;
}

export interface DeploymentState {
  status: DeploymentStatus;
  /** The stage being worked on (or last worked on). */
  current: number;
  stages: StageState[];
  /** Why it failed or rolled back, for people. */
  reason: string | null;
  /** While rolling back: what to put back, last stage first. */
  rollingBack: RollbackTarget[];
}

export type DeploymentEvent =
  | { type: "validated"; problems: string[] }
  | { type: "deployed"; platformDeploymentId: string; at: number }
  | { type: "deploy_failed"; message: string }
  | { type: "health"; ok: boolean; detail?: string; at: number }
  | { type: "approve" }
  /** A person asks for stages to be put back; `targets` overrides each stage's `previous`. */
  | { type: "rollback"; reason: string; targets?: RollbackTarget[] }
  | { type: "rolled_back" }
  | { type: "rollback_failed"; message: string }
  /** `reason` for people: a person's cancel has none, a superseded wait names the newer deployment. */
  | { type: "cancel"; reason?: string }
  | { type: "time_out" };

/** A new deployment of the given stages (at least one). */
export function initialDeployment(stages: StagePlan[]): DeploymentState {
  return {
    status: "pending",
    current: 0,
    reason: null,
    rollingBack: [],
    stages: stages.map((s) => ({
      ...s,
      trafficSteps: s.trafficSteps.length > 0 ? s.trafficSteps : [100],
      status: "waiting",
      platformDeploymentId: null,
      passes: 0,
      failures: 0,
      step: 0,
      stepStartedAt: null,
    })),
  };
}

/** The share of traffic the current step of a stage gives its new version. */
export function trafficOf(stage: StageState): number {
  if (stage.status === "healthy") return 100;
  if (stage.status !== "verifying") return 0;
  return stage.trafficSteps[stage.step] ?? 100;
}

function withStage(state: DeploymentState, change: Partial<StageState>): StageState[] {
  return state.stages.map((s, i) => (i === state.current ? { ...s, ...change } : s));
}

/** Enters stage `index`: behind its approval gate, or straight to deploying. */
function enter(state: DeploymentState, index: number): DeploymentState {
  const next = { ...state, current: index };
  const stage = next.stages[index];
  if (!stage) return { ...state, status: "succeeded" };
  return { ...next, status: stage.approval ? "awaiting_approval" : "deploying", stages: withStage(next, { status: stage.approval ? "waiting" : "deploying" }) };
}

/** The current stage went wrong: roll it back to its last healthy deployment, or end as `otherwise`. */
function undo(state: DeploymentState, stageStatus: StageStatus, reason: string, otherwise: "failed" | "cancelled" = "failed"): DeploymentState {
  const stage = state.stages[state.current];
  const stages = withStage(state, { status: stageStatus });
  const skipped = stages.map((s, i) => (i > state.current ? { ...s, status: "skipped" as const } : s));
  if (stage?.previous) return { ...state, status: "rolling_back", stages: skipped, reason, rollingBack: [{ stage: state.current, to: stage.previous }] };
  return { ...state, status: otherwise, stages: skipped, reason };
}

/** Applies one event to a deployment. */
export function transitionDeployment(state: DeploymentState, event: DeploymentEvent): Transition<DeploymentState> {
  const { status } = state;
  const stage = state.stages[state.current];
  switch (event.type) {
    case "validated":
      if (status !== "pending") return illegal(status, event.type);
      if (event.problems.length > 0) {
        return moved({
          ...state,
          status: "failed",
          reason: `validation failed: ${event.problems.join("; ")}`,
          stages: state.stages.map((s) => ({ ...s, status: "skipped" })),
        });
      }
      return moved(enter(state, 0));
    case "deployed":
      if (status !== "deploying") return illegal(status, event.type);
      return moved({
        ...state,
        status: "verifying",
        stages: withStage(state, {
          status: "verifying",
          platformDeploymentId: event.platformDeploymentId,
          passes: 0,
          failures: 0,
          step: 0,
          stepStartedAt: event.at,
        }),
      });
    case "deploy_failed":
      if (status !== "deploying") return illegal(status, event.type);
      return moved(undo(state, "unhealthy", `stage ${stage?.name} failed to deploy: ${event.message}`));
    case "health": {
      if (status !== "verifying" || !stage) return illegal(status, event.type);
      // Thresholds count consecutive results, as load balancers do.
      const passes = event.ok ? stage.passes + 1 : 0;
      const failures = event.ok ? 0 : stage.failures + 1;
      if (failures >= stage.unhealthyThreshold) {
        return moved(
          undo(
            { ...state, stages: withStage(state, { passes, failures }) },
            "unhealthy",
            `stage ${stage.name} failed its health check${event.detail ? `: ${event.detail}` : ""}`,
          ),
        );
      }
      const held = event.at - (stage.stepStartedAt ?? event.at) >= stage.pauseMs;
      if (passes >= stage.healthyThreshold && held) {
        // The next traffic step starts its own count; after the last, the stage is healthy.
        if (stage.step < stage.trafficSteps.length - 1) {
          return moved({ ...state, stages: withStage(state, { passes: 0, failures: 0, step: stage.step + 1, stepStartedAt: event.at }) });
        }
        return moved(enter({ ...state, stages: withStage(state, { passes, failures, status: "healthy" }) }, state.current + 1));
      }
      return moved({ ...state, stages: withStage(state, { passes, failures }) });
    }
    case "approve":
      if (status !== "awaiting_approval") return illegal(status, event.type);
      return moved({ ...state, status: "deploying", stages: withStage(state, { status: "deploying" }) });
    case "rollback": {
      if (status !== "succeeded" && status !== "verifying" && status !== "awaiting_approval") return illegal(status, event.type);
      // Every stage this deployment made live (or is making live) goes back, last first.
      const live = state.stages.flatMap((s, i) => (s.status === "healthy" || s.status === "verifying" ? [i] : [])).reverse();
      const targets = live.flatMap((i) => {
        const to = event.targets ? event.targets.find((t) => t.stage === i)?.to : state.stages[i]?.previous;
        return to ? [{ stage: i, to }] : [];
      });
      if (targets.length === 0) return illegal(status, event.type);
      const stages = state.stages.map((s, i) =>
        i > state.current || (s.status === "waiting" && i === state.current) ? { ...s, status: "skipped" as const } : s,
      );
      return moved({ ...state, status: "rolling_back", reason: event.reason, rollingBack: targets, stages });
    }
    case "rolled_back":
      if (status !== "rolling_back") return illegal(status, event.type);
      return moved({
        ...state,
        status: "rolled_back",
        rollingBack: [],
        stages: state.stages.map((s, i) => (state.rollingBack.some((t) => t.stage === i) ? { ...s, status: "rolled_back" } : s)),
      });
    case "rollback_failed":
      if (status !== "rolling_back") return illegal(status, event.type);
      return moved({ ...state, status: "failed", rollingBack: [], reason: `${state.reason ?? "rollback"}; the rollback failed too: ${event.message}` });
    case "cancel":
      if (DEPLOYMENT_FINISHED.has(status) || status === "rolling_back") return illegal(status, event.type);
      // A stage already switched to the new version is put back; before that, nothing to undo.
      if (status === "verifying") return moved(undo(state, "unhealthy", "cancelled while verifying", "cancelled"));
      return moved({
        ...state,
        status: "cancelled",
        reason: event.reason ?? "cancelled",
        stages: state.stages.map((s, i) => (i >= state.current && s.status !== "healthy" ? { ...s, status: "skipped" } : s)),
      });
    case "time_out":
      if (status === "awaiting_approval")
        return moved({
          ...state,
          status: "cancelled",
          reason: `no approval for stage ${stage?.name} in time`,
          stages: state.stages.map((s, i) => (i >= state.current ? { ...s, status: "skipped" } : s)),
        });
      if (status === "deploying" || status === "verifying") return moved(undo(state, "unhealthy", `stage ${stage?.name} timed out while ${status}`));
      return illegal(status, event.type);
    default: {
      const unreachable: never = event;
      return illegal(status, (unreachable as { type: string }).type);
    }
  }
}
