/**
 * Deployment rules live on the server; a repository's sparki.yml can only tighten them. The
 * build's pipeline comes from the commit being built, so anyone who can push a branch writes
 * its sparki.yml: trusting its `approval` and `branches` would let that branch lift a
 * production approval. This module merges the two, purely, for every place a stage plan is made
 * (push deployments after a green build, and `POST /v1/builds/:id/deploy`).
 */
import { branchMatches } from "../pipeline/branches.ts";

/** Roles whose members may approve a gated stage (the roles that hold `deploy:approve`). */
export const APPROVER_ROLES = ["owner", "admin"] as const;
export type ApproverRole = (typeof APPROVER_ROLES)[number];

/** One stage's rule as owners and admins set it (a `stage_rules` row). */
export interface StageRule {
  requireApproval: boolean;
  /** Branch patterns that may deploy to the stage; empty: none may. */
  branches: readonly string[];
  approverRoles: readonly ApproverRole[];
}

/** What a stage with no rule accepts: only the project's default branch, no approval, owners and admins approve. */
export function defaultStageRule(defaultBranch: string): StageRule {
  return { requireApproval: false, branches: [defaultBranch], approverRoles: [...APPROVER_ROLES] };
}

/** What sparki.yml says about the stage (the deploy job of the pinned pipeline). */
export interface StageRequest {
  approval: boolean;
  /** Null or empty: sparki.yml names no branches, so only the server's list applies. */
  branches: readonly string[] | null;
}

export interface EffectiveStage {
  /** The server's rule OR sparki.yml's approval. */
  approval: boolean;
  /** From the server only: sparki.yml cannot add approvers. */
  approverRoles: ApproverRole[];
  /** Whether `branch` may deploy to the stage: it matches the server's list and sparki.yml's. */
  allowed: boolean;
  /** When not allowed: which rule refused, in words for the person who asked. */
  refusal: string | null;
}

/**
 * The stage as it will run for `branch`: `rule` is the server's row for the stage, or null when
 * none is set (then {@link defaultStageRule} applies).
 */
export function effectiveStage(stage: string, rule: StageRule | null, defaultBranch: string, request: StageRequest, branch: string): EffectiveStage {
  const server = rule ?? defaultStageRule(defaultBranch);
  const approverRoles = APPROVER_ROLES.filter((r) => server.approverRoles.includes(r));
  const approval = server.requireApproval || request.approval;
  const list = (patterns: readonly string[]) => (patterns.length ? patterns.join(", ") : "no branch");
  let refusal: string | null = null;
  if (branch === "") {
    refusal = `the build names no branch, and stage ${stage} deploys only from branches its rule accepts`;
  } else if (!server.branches.some((p) => branchMatches(p, branch))) {
    refusal = rule
      ? `the project's rule for stage ${stage} accepts ${list(server.branches)}, not branch ${branch}`
      : `stage ${stage} has no rule yet, so it accepts only the default branch ${defaultBranch}, not ${branch} (an owner or admin can set one: sparki stages set ${stage} --branches …)`;
  } else if (request.branches && request.branches.length > 0 && !request.branches.some((p) => branchMatches(p, branch))) {
    refusal = `sparki.yml limits stage ${stage} to ${list(request.branches)}, not branch ${branch}`;
  }
  return { approval, approverRoles, allowed: refusal === null, refusal };
}

/** Whether a member with `role` may approve a stage whose approvers are `approverRoles`. */
export function mayApprove(role: string, approverRoles: readonly string[]): boolean {
  return (APPROVER_ROLES as readonly string[]).includes(role) && approverRoles.includes(role);
}
