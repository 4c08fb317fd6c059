/**
 * The queue consumer's GitHub step for a deployment (`deployment.changed`, sent by the
 * DeploymentOrchestrator after Postgres took a change of a stage): each stage of a build of a
 * linked project becomes a GitHub deployment of the build's commit (environment = stage name,
 * `required_contexts: []`, so GitHub does not wait on its own view of the commit's checks), and
 * its progress deployment statuses, with the stage's URL as `environment_url` and the dashboard's
 * deployment page as `log_url`.
 *
 * Stage → status: waiting for approval → `pending`; deploying, verifying → `in_progress`;
 * healthy → `success`; unhealthy → `failure`; rolled back → `inactive` after a success (it no
 * longer runs), else `error`; skipped after GitHub heard of it (a cancelled approval) → `error`.
 * Stages never reached are not sent. A pull request's preview (trigger `preview`) is the transient
 * environment `preview/pr-<n>`; once the pull request closed, whatever GitHub heard of it becomes
 * `inactive`. Like check runs (report-github-check.ts): read from
 * Postgres, one row per stage attempt taken before the deployment is created, only ever forward.
 */
import { and, asc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { previewEnvironment } from "../../core/deploy/preview.ts";
import { siteUrl } from "../sites/hosts.js";
import { builds, deployments, githubDeployments, projects, pullRequestPreviews, releases } from "../db/schema.js";
import type { DeploymentState } from "../integrations/github/api.ts";
import { type GitHubReportDeps, type RepoLink, repoClient, repoLink, STALE_CLAIM_MS } from "./report-github-check.js";

type State = import("zod").infer<typeof DeploymentState>;
const RANK: Partial<Record<State, number>> = { pending: 1, in_progress: 2, success: 3, failure: 3, inactive: 4, error: 4 };

export type StageReport = { stage: string; skipped: string } | { stage: string; busy: true } | { stage: string; state: State; githubDeploymentId: number };

interface StageRow {
  id: string;
  stage: string | null;
  status: string | null;
  url: string | null;
}

/** The status a stage should show, given the release and what GitHub was last told; null: nothing to send. */
export function desiredState(
  stage: StageRow,
  release: { status: string; reason: string | null },
  awaitingHere: boolean,
  reported: string | null,
): { state: State; description: string } | null {
  switch (stage.status) {
    case "waiting":
      return awaitingHere ? { state: "pending", description: "Waiting for approval" } : null;
    case "deploying":
      return { state: "in_progress", description: "Deploying" };
    case "verifying":
      return { state: "in_progress", description: "Checking health" };
    case "healthy":
      return { state: "success", description: "Deployed and healthy" };
    case "unhealthy":
      return { state: "failure", description: release.reason ?? "Health checks failed" };
    case "rolled_back":
      return reported === "success"
        ? { state: "inactive", description: release.reason ?? "Rolled back" }
        : { state: "error", description: release.reason ?? "Rolled back" };
    case "skipped":
      return reported ? { state: "error", description: release.reason ?? "Cancelled" } : null;
    default:
      return null;
  }
}

/** A closed pull request's preview: what GitHub heard of becomes `inactive` (it is no longer served). */
export function closedPreviewState(reported: string | null, number: number): { state: State; description: string } | null {
  return reported ? { state: "inactive", description: `Pull request #${number} closed; preview removed` } : null;
}

const ahead = (next: State, reported: string | null) => (RANK[next] ?? 0) > (reported ? (RANK[reported as State] ?? 0) : 0);

/** Brings every stage of the release up to date on GitHub; one report per stage it looked at. */
export async function reportGitHubDeployments(deps: GitHubReportDeps, releaseId: string): Promise<StageReport[]> {
  const { db } = deps;
  const [release] = await db
    .select({
      status: releases.status,
      reason: releases.reason,
      commitSha: builds.commitSha,
      installationId: projects.githubInstallationId,
      repositoryId: projects.githubRepositoryId,
      fullName: projects.githubFullName,
      projectId: releases.projectId,
      trigger: releases.trigger,
      pullRequest: builds.pullRequest,
      previewClosedAt: pullRequestPreviews.closedAt,
    })
    .from(releases)
    .innerJoin(builds, eq(builds.id, releases.buildId))
    .innerJoin(projects, eq(projects.id, releases.projectId))
    .leftJoin(pullRequestPreviews, and(eq(pullRequestPreviews.projectId, releases.projectId), eq(pullRequestPreviews.number, builds.pullRequest)))
    .where(eq(releases.id, releaseId));
  const link = release ? repoLink(release) : null;
  if (!release || !link || !release.commitSha) return [];
  const stages = await db
    .select({
      id: deployments.id,
      stage: deployments.stage,
      status: deployments.status,
      url: deployments.url,
      reported: githubDeployments.reported,
      githubId: githubDeployments.githubDeploymentId,
    })
    .from(deployments)
    .leftJoin(githubDeployments, eq(githubDeployments.deploymentId, deployments.id))
    .where(eq(deployments.releaseId, releaseId))
    .orderBy(asc(deployments.position));
  const firstWaiting = stages.findIndex((s) => s.status === "waiting");
  const preview =
    release.trigger === "preview" && release.pullRequest !== null ? { number: release.pullRequest, closed: release.previewClosedAt !== null } : null;
  const out: StageReport[] = [];
  for (const [i, s] of stages.entries()) {
    const name = s.stage ?? "production";
    const want = preview?.closed
      ? closedPreviewState(s.reported ?? null, preview.number)
      : desiredState(s, release, release.status === "awaiting_approval" && i === firstWaiting, s.reported ?? null);
    if (!want || !ahead(want.state, s.reported ?? null)) {
      out.push({ stage: name, skipped: want ? `already ${s.reported}` : "nothing to report" });
      continue;
    }
    const environment = preview ? previewEnvironment(preview.number) : name;
    // A preview links to its stable host (pr-<n>--<project>), which follows each push, once deployed.
    const url = preview && s.url ? (siteUrl(deps.sitesOrigin, { projectId: release.projectId, stage: name }) ?? s.url) : s.url;
    out.push(
      await reportStage(
        deps,
        link,
        { releaseId, commitSha: release.commitSha, stageId: s.id, name, environment, preview: preview !== null, url, githubId: s.githubId ?? null },
        want,
      ),
    );
  }
  return out;
}

async function reportStage(
  deps: GitHubReportDeps,
  link: RepoLink,
  s: {
    releaseId: string;
    commitSha: string;
    stageId: string;
    name: string;
    /** GitHub's environment: the stage's name, or `preview/pr-<n>` (transient) for a preview. */
    environment: string;
    preview: boolean;
    url: string | null;
    githubId: number | null;
  },
  want: { state: State; description: string },
): Promise<StageReport> {
  const { db } = deps;
  const gh = await repoClient(deps, link, "deployments");
  let githubId = s.githubId;
  if (githubId === null) {
    const claimed = await claim(db, s.stageId);
    if (!claimed) return { stage: s.name, busy: true };
    try {
      const d = await gh.createDeployment(link.owner, link.repo, {
        ref: s.commitSha,
        environment: s.environment,
        description: `Sparki deployment ${s.releaseId}`,
        production_environment: !s.preview && s.name === "production",
        ...(s.preview ? { transient_environment: true } : {}),
        payload: { sparkiDeploymentId: s.releaseId, stageAttemptId: s.stageId },
      });
      githubId = d.id;
      await db.update(githubDeployments).set({ githubDeploymentId: d.id, updatedAt: sql`now()` }).where(eq(githubDeployments.deploymentId, s.stageId));
    } catch (err) {
      await db.delete(githubDeployments).where(and(eq(githubDeployments.deploymentId, s.stageId), isNull(githubDeployments.githubDeploymentId)));
      throw err;
    }
  }
  await gh.createDeploymentStatus(link.owner, link.repo, githubId, {
    state: want.state,
    description: want.description.slice(0, 140),
    ...(s.url ? { environment_url: s.url } : {}),
    ...(deps.publicUrl ? { log_url: new URL(`/deployments/${s.releaseId}`, deps.publicUrl).toString() } : {}),
  });
  const lower = Object.entries(RANK)
    .filter(([, r]) => (r ?? 0) < (RANK[want.state] ?? 0))
    .map(([k]) => k);
  const notAhead = lower.length > 0 ? or(isNull(githubDeployments.reported), inArray(githubDeployments.reported, lower)) : isNull(githubDeployments.reported);
  await db
    .update(githubDeployments)
    .set({ reported: want.state, updatedAt: sql`now()` })
    .where(and(eq(githubDeployments.deploymentId, s.stageId), notAhead));
  return { stage: s.name, state: want.state, githubDeploymentId: githubId };
}

/** Takes the stage's row to create its GitHub deployment: a new row, or a claim left stale. */
async function claim(db: Db, stageId: string): Promise<boolean> {
  const inserted = await db.insert(githubDeployments).values({ deploymentId: stageId }).onConflictDoNothing().returning();
  if (inserted.length > 0) return true;
  const taken = await db
    .update(githubDeployments)
    .set({ claimedAt: sql`now()` })
    .where(
      and(
        eq(githubDeployments.deploymentId, stageId),
        isNull(githubDeployments.githubDeploymentId),
        lt(githubDeployments.claimedAt, new Date(Date.now() - STALE_CLAIM_MS)),
      ),
    )
    .returning();
  return taken.length > 0;
}
