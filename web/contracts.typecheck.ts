/**
 * Compile-time only (`npm run typecheck`): the dashboard's run-time guards (web/src/contracts.ts)
 * yield exactly the types of the zod contracts in core/contracts, or, where a guard reads only
 * some fields, a type every contract value satisfies. A contract change that the dashboard does
 * not follow fails the typecheck here.
 */
import type { z } from "zod";
import type * as audit from "../core/contracts/audit.ts";
import type * as auth from "../core/contracts/auth.ts";
import type * as builds from "../core/contracts/builds.ts";
import type * as deployments from "../core/contracts/deployments.ts";
import type * as github from "../core/contracts/github.ts";
import type * as logs from "../core/contracts/logs.ts";
import type * as notifications from "../core/contracts/notifications.ts";
import type * as pipelines from "../core/contracts/pipelines.ts";
import type * as projects from "../core/contracts/projects.ts";
import type * as stageRules from "../core/contracts/stage-rules.ts";
import type * as workspaces from "../core/contracts/workspaces.ts";
import type * as web from "./src/contracts.ts";
import type * as webNotifications from "./src/notification-contracts.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Same<Zod extends z.ZodType, Guard> = Equal<z.output<Zod>, web.Out<Guard>>;
type Reads<Zod extends z.ZodType, Guard> = z.output<Zod> extends web.Out<Guard> ? true : false;

export const checks: true[] = [
  true satisfies Equal<z.output<typeof notifications.ChannelList>, web.Out<typeof webNotifications.ChannelList>>,
  true satisfies Equal<z.output<typeof notifications.DeliveryList>, web.Out<typeof webNotifications.DeliveryList>>,
  true satisfies Equal<z.output<typeof notifications.Delivery>, web.Out<typeof webNotifications.Delivery>>,
  true satisfies Reads<typeof notifications.ChannelCreated, typeof webNotifications.ChannelCreated>,
  true satisfies Same<typeof auth.User, typeof web.User>,
  true satisfies Same<typeof auth.MeResponse, typeof web.MeResponse>,
  true satisfies Same<typeof auth.Session, typeof web.Session>,
  true satisfies Same<typeof workspaces.Workspace, typeof web.Workspace>,
  true satisfies Same<typeof workspaces.Member, typeof web.Member>,
  true satisfies Same<typeof projects.Project, typeof web.Project>,
  true satisfies Reads<typeof github.GitHubInstallations, typeof web.GitHubInstallations>,
  true satisfies Same<typeof builds.BuildSummary, typeof web.BuildSummary>,
  true satisfies Same<typeof builds.Build, typeof web.Build>,
  true satisfies Same<typeof builds.Artifact, typeof web.Artifact>,
  true satisfies Same<typeof logs.ViewerLogLine, typeof web.ViewerLogLine>,
  true satisfies Same<typeof pipelines.PipelineVersionSummary, typeof web.PipelineVersionSummary>,
  true satisfies Reads<typeof pipelines.PipelineVersion, typeof web.PipelineVersion>,
  true satisfies Reads<typeof pipelines.DetectResponse, typeof web.DetectResponse>,
  true satisfies Same<typeof audit.AuditLogEntry, typeof web.AuditLogEntry>,
  true satisfies Same<typeof deployments.DeploymentSummary, typeof web.DeploymentSummary>,
  true satisfies Same<typeof deployments.Deployment, typeof web.Deployment>,
  true satisfies Same<typeof stageRules.StageRuleList, typeof web.StageRuleList>,
];
