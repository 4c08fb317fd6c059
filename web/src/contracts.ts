/**
 * The API's answers as the dashboard reads them, checked at run time with the small guards of
 * check.ts. Each mirrors a zod schema in core/contracts (same names, same fields; fields the
 * dashboard never reads may be left out, and are kept as they came); web/contracts.typecheck.ts
 * holds them to the zod types at compile time.
 */
import { BUILD_STATUSES } from "../../core/build/build.ts";
import { JOB_STATUSES } from "../../core/build/job.ts";
import { DEPLOYMENT_STATUSES } from "../../core/deploy/machine.ts";
import { APPROVER_ROLES } from "../../core/deploy/stage-rules.ts";
import { roles } from "../../core/rbac.ts";
import { arr, bool, literalTrue, nullable, num, obj, oneOf, optional, record, str, union, unknown, type Check } from "./check.ts";

export type Out<C> = C extends Check<infer T> ? T : never;

export const Problem = obj({
  type: str,
  title: str,
  status: num,
  detail: optional(str),
  instance: str,
  errors: optional(arr(obj({ pointer: str, message: str }))),
});

export const User = obj({ id: str, email: str, name: nullable(str), createdAt: str });
export const Role = oneOf(roles);
export const MeResponse = obj({ user: User, workspaces: arr(obj({ id: str, name: str, slug: str, role: Role })) });
// The dashboard logs in with `session: "cookie"`: the tokens stay in HttpOnly cookies, never here.
export const Session = obj({ user: User, accessToken: optional(str), refreshToken: optional(str), expiresIn: num });
export const SharedRunners = oneOf(["never", "no-secrets", "always"] as const);
export const Workspace = obj({ id: str, name: str, slug: str, role: Role, sharedRunners: SharedRunners, createdAt: str });
export const Member = obj({ userId: str, email: str, name: nullable(str), role: Role, joinedAt: str });

/** The linked GitHub installations (the dashboard reads only which repositories they reach). */
export const GitHubInstallations = obj({
  configured: bool,
  items: arr(obj({ id: num, accountLogin: str, repositories: arr(obj({ id: num, fullName: str, private: bool })) })),
  trustForkPullRequests: bool,
});
export const Project = obj({
  id: str,
  workspaceId: str,
  name: str,
  gitUrl: str,
  defaultBranch: str,
  framework: nullable(str),
  language: nullable(str),
  createdAt: str,
  updatedAt: str,
});

export const BuildStatus = oneOf(BUILD_STATUSES);
export const BuildSummary = obj({
  id: str,
  projectId: str,
  number: num,
  branch: str,
  tag: nullable(str),
  commitSha: nullable(str),
  status: BuildStatus,
  pipelineId: nullable(str),
  error: nullable(str),
  createdAt: str,
  queuedAt: str,
  startedAt: nullable(str),
  completedAt: nullable(str),
});
const StepView = obj({
  id: str,
  name: str,
  status: oneOf(["running", "succeeded", "failed", "cancelled", "timed_out", "skipped"] as const),
  exitCode: nullable(num),
  startedAt: nullable(str),
  finishedAt: nullable(str),
});
export const BuildJob = obj({
  id: str,
  name: str,
  kind: oneOf(["plan", "steps"] as const),
  status: oneOf(JOB_STATUSES),
  exitCode: nullable(num),
  attempt: num,
  startedAt: nullable(str),
  completedAt: nullable(str),
  steps: arr(StepView),
  labels: arr(str),
  waiting: nullable(obj({ reason: str })),
});
export const Build = obj({
  ...{
    id: str,
    projectId: str,
    number: num,
    branch: str,
    tag: nullable(str),
    commitSha: nullable(str),
    status: BuildStatus,
    pipelineId: nullable(str),
    error: nullable(str),
    createdAt: str,
    queuedAt: str,
    startedAt: nullable(str),
    completedAt: nullable(str),
  },
  jobs: arr(BuildJob),
});
export const Artifact = obj({ name: str, size: num, uploadedAt: str });

export const ViewerLogLine = obj({ seq: num, jobId: str, step: str, ts: num, text: str, partial: optional(literalTrue) });
export const ViewerFrame = union<{ type: "lines"; lines: Out<typeof ViewerLogLine>[] } | { type: "status"; status: Out<typeof BuildStatus> }>({
  lines: obj({ type: oneOf(["lines"] as const), lines: arr(ViewerLogLine) }),
  status: obj({ type: oneOf(["status"] as const), status: BuildStatus }),
});

export const PipelineVersionSummary = obj({
  id: str,
  version: num,
  source: oneOf(["detect", "sparki.yml", "upload"] as const),
  contentHash: str,
  createdBy: nullable(str),
  createdAt: str,
});
const PipelineStep = obj({ name: str, run: str });
const PipelineJob = obj({
  id: str,
  name: str,
  stage: str,
  app: str,
  needs: arr(str),
  runsOn: arr(str),
  workingDirectory: str,
  steps: arr(PipelineStep),
  artifacts: arr(str),
});
const Evidence = obj({ field: str, file: nullable(str), reason: str });
const DetectedApp = obj({
  path: str,
  name: nullable(str),
  language: nullable(str),
  framework: nullable(str),
  packageManager: nullable(str),
  outputDir: nullable(str),
  confidence: num,
  evidence: arr(Evidence),
});
export const Detection = obj({
  ...{
    path: str,
    name: nullable(str),
    language: nullable(str),
    framework: nullable(str),
    packageManager: nullable(str),
    outputDir: nullable(str),
    confidence: num,
    evidence: arr(Evidence),
  },
  apps: arr(DetectedApp),
  reason: nullable(str),
});
export const PipelineVersion = obj({
  ...{ id: str, version: num, source: oneOf(["detect", "sparki.yml", "upload"] as const), contentHash: str, createdBy: nullable(str), createdAt: str },
  configuration: obj({ version: num, name: str, stages: arr(obj({ name: str, jobs: arr(str) })), jobs: arr(PipelineJob) }),
  sparkiYml: nullable(str),
  detection: nullable(Detection),
});
export const DetectResponse = obj({ detection: Detection, pipeline: PipelineVersion, created: bool });
export const SecretInfo = obj({ name: str, createdAt: str, updatedAt: str });
export const Runner = obj({ id: str, name: str, labels: arr(str), version: str, lastSeenAt: nullable(str), createdAt: str });

export const AuditLogEntry = obj({
  id: str,
  userId: nullable(str),
  workspaceId: nullable(str),
  eventType: str,
  action: str,
  resourceType: nullable(str),
  resourceId: nullable(str),
  result: oneOf(["success", "failure", "denied"] as const),
  ip: nullable(str),
  details: record(unknown),
  createdAt: str,
});

export const DeploymentStatus = oneOf(DEPLOYMENT_STATUSES);
export const DeploymentStage = obj({
  id: str,
  name: str,
  platform: str,
  strategy: oneOf(["all-at-once", "blue-green", "canary"] as const),
  status: oneOf(["waiting", "deploying", "verifying", "healthy", "unhealthy", "rolled_back", "skipped"] as const),
  approval: bool,
  approverRoles: arr(oneOf(APPROVER_ROLES)),
  approvedBy: nullable(obj({ id: str, email: str })),
  approvedAt: nullable(str),
  trafficPercent: num,
  passes: num,
  failures: num,
  url: nullable(str),
  startedAt: nullable(str),
  completedAt: nullable(str),
});
export const DeploymentEvent = obj({ seq: num, at: str, type: str, stage: nullable(str), message: str });
const deploymentFields = {
  id: str,
  projectId: str,
  buildId: str,
  commitSha: nullable(str),
  branch: str,
  status: DeploymentStatus,
  reason: nullable(str),
  trigger: oneOf(["push", "manual", "preview"] as const),
  pullRequest: nullable(num),
  createdAt: str,
  completedAt: nullable(str),
};
export const DeploymentSummary = obj(deploymentFields);
export const Deployment = obj({ ...deploymentFields, stages: arr(DeploymentStage), events: arr(DeploymentEvent) });
export const DeploymentSocketMessage = obj({ event: DeploymentEvent, deployment: Deployment });
export const StageRule = obj({
  stage: str,
  requireApproval: bool,
  branches: arr(str),
  approverRoles: arr(oneOf(APPROVER_ROLES)),
  configured: bool,
  updatedBy: nullable(str),
  updatedAt: nullable(str),
});
export const StageRuleList = obj({ defaultBranch: str, items: arr(StageRule) });

/** `{items, nextCursor}` pages. */
export function page<T>(item: Check<T>) {
  return obj({ items: arr(item), nextCursor: nullable(str) });
}
export function items<T>(item: Check<T>) {
  return obj({ items: arr(item) });
}

export type LogLine = Out<typeof ViewerLogLine>;
export type DeploymentView = Out<typeof Deployment>;
