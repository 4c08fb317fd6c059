/**
 * The queue consumer's GitHub step for a build event (`build.requested`, `build.started`,
 * `build.completed`, and its own `github.report` retries): when the build's project is linked to
 * a GitHub installation and the build knows its commit, the build's current state (read from
 * Postgres, not from the event, so late or repeated events never move it backwards) goes to the
 * commit's check run.
 *
 * Retry-safe: `github_check_runs` holds one row per build, taken before the check run is created
 * (so two reporters of one build never both create one) and then holding GitHub's id and what
 * GitHub was last told; a redelivered event finds it and updates the same check run, only ever
 * forward. A reporter that took the row and died leaves a stale claim, taken over after
 * {@link STALE_CLAIM_MS}. Errors are GitHubApiError (GitHub's) or Postgres'; the caller logs them
 * and never fails a build for them.
 */
import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { builds, githubCheckRuns, projects } from "../db/schema.js";
import { GitHubClient } from "../integrations/github/api.ts";
import type { AppCredentials } from "../integrations/github/app-auth.ts";
import { CHECK_NAME, type CheckPhase, checkRunFields, type Failure, isAhead, phaseOf } from "../integrations/github/check-run.ts";
import type { GitHubTransport } from "../integrations/github/http.ts";
import { repositoryToken } from "../integrations/github/token-cache.ts";

/** A claim to create a check run older than this was left by a reporter that died. */
export const STALE_CLAIM_MS = 2 * 60_000;

export interface GitHubReportDeps {
  db: Db;
  app: AppCredentials;
  transport: GitHubTransport;
  /** The dashboard's origin (PUBLIC_URL): check runs and deployments link to its pages. */
  publicUrl: string | undefined;
  /** The sites origin (SITES_ORIGIN): a pull request's preview links to its stable host there. */
  sitesOrigin?: string | undefined;
  /** Where a failed build failed, with the last lines of that job's log (the coordinator knows). */
  failureOf?: (buildId: string) => Promise<Failure | null>;
}

export type CheckReport =
  | { skipped: string }
  /** Another reporter is creating the check run right now: try again shortly. */
  | { busy: true }
  | { checkRunId: number; phase: CheckPhase; created: boolean };

/** The link of a project to a GitHub repository, as the reporters need it. */
export interface RepoLink {
  installationId: number;
  repositoryId: number;
  owner: string;
  repo: string;
}

export function repoLink(p: { installationId: number | null; repositoryId: number | null; fullName: string | null }): RepoLink | null {
  const [owner, repo] = p.fullName?.split("/") ?? [];
  if (p.installationId === null || p.repositoryId === null || !owner || !repo) return null;
  return { installationId: p.installationId, repositoryId: p.repositoryId, owner, repo };
}

/** A client for one repository, with an installation token narrowed to it and `permission: write`. */
export async function repoClient(deps: GitHubReportDeps, link: RepoLink, permission: "checks" | "deployments"): Promise<GitHubClient> {
  const token = await repositoryToken(deps.app, link.installationId, link.repositoryId, { [permission]: "write" }, deps.transport);
  return new GitHubClient(token, deps.transport);
}

/** Brings the build's check run up to the build's current state. */
export async function reportGitHubCheck(deps: GitHubReportDeps, buildId: string): Promise<CheckReport> {
  const { db } = deps;
  const build = await readBuild(db, buildId);
  if (!build) return { skipped: "no such build" };
  const link = repoLink(build);
  if (!link) return { skipped: "project not linked to GitHub" };
  // A deploy script's build is part of a deployment, which GitHub hears about as a deployment.
  if (build.trigger === "deploy") return { skipped: "deployment build" };
  // A build of a branch head learns its commit from its plan job; until then there is nothing to mark.
  if (!build.commitSha || !build.status) return { skipped: "commit not known yet" };

  const [row] = await db.select().from(githubCheckRuns).where(eq(githubCheckRuns.buildId, buildId));
  if (row?.checkRunId != null) return advance(deps, link, buildId, row.checkRunId, row.reported);
  const claimed = row
    ? await db
        .update(githubCheckRuns)
        .set({ claimedAt: sql`now()` })
        .where(
          and(eq(githubCheckRuns.buildId, buildId), isNull(githubCheckRuns.checkRunId), lt(githubCheckRuns.claimedAt, new Date(Date.now() - STALE_CLAIM_MS))),
        )
        .returning()
    : await db.insert(githubCheckRuns).values({ buildId }).onConflictDoNothing().returning();
  if (claimed.length === 0) return { busy: true };

  const phase = phaseOf(build.status);
  try {
    const gh = await repoClient(deps, link, "checks");
    const fields = checkRunFields(await withFailure(deps, buildId, build), detailsUrl(deps, buildId));
    const run = await gh.createCheckRun(link.owner, link.repo, {
      name: CHECK_NAME,
      head_sha: build.commitSha,
      external_id: buildId,
      ...(build.startedAt ? { started_at: build.startedAt.toISOString() } : {}),
      ...fields,
    });
    await db.update(githubCheckRuns).set({ checkRunId: run.id, reported: phase, updatedAt: sql`now()` }).where(eq(githubCheckRuns.buildId, buildId));
    return { checkRunId: run.id, phase, created: true };
  } catch (err) {
    // Let the next event (or retry) create it; GitHub may still hold this one (a 5xx after acting).
    await db.delete(githubCheckRuns).where(and(eq(githubCheckRuns.buildId, buildId), isNull(githubCheckRuns.checkRunId)));
    throw err;
  }
}

/** Updates an existing check run when the build is further along than GitHub was last told. */
async function advance(deps: GitHubReportDeps, link: RepoLink, buildId: string, checkRunId: number, reported: string | null): Promise<CheckReport> {
  const { db } = deps;
  const gh = await repoClient(deps, link, "checks");
  // Twice at most: a concurrent reporter may have told GitHub a later state between our read and
  // our update; then the latest state is sent once more so GitHub ends on it.
  let phase: CheckPhase = "queued";
  for (let round = 0; round < 2; round++) {
    const build = await readBuild(db, buildId);
    if (!build?.status) return { skipped: "no such build" };
    phase = phaseOf(build.status);
    if (round === 0 && !isAhead(phase, reported)) return { skipped: `already ${reported}` };
    await gh.updateCheckRun(link.owner, link.repo, checkRunId, checkRunFields(await withFailure(deps, buildId, build), detailsUrl(deps, buildId)));
    const lower = (["queued", "in_progress", "completed"] as const).filter((p) => isAhead(phase, p));
    const moved = await db
      .update(githubCheckRuns)
      .set({ reported: phase, updatedAt: sql`now()` })
      .where(
        and(
          eq(githubCheckRuns.buildId, buildId),
          lower.length > 0 ? or(isNull(githubCheckRuns.reported), inArray(githubCheckRuns.reported, lower)) : isNull(githubCheckRuns.reported),
        ),
      )
      .returning({ buildId: githubCheckRuns.buildId });
    if (moved.length > 0 || phase === "completed") break;
  }
  return { checkRunId, phase, created: false };
}

async function readBuild(db: Db, buildId: string) {
  const [row] = await db
    .select({
      status: builds.status,
      number: builds.number,
      commitSha: builds.commitSha,
      error: builds.error,
      trigger: builds.trigger,
      startedAt: builds.startedAt,
      installationId: projects.githubInstallationId,
      repositoryId: projects.githubRepositoryId,
      fullName: projects.githubFullName,
    })
    .from(builds)
    .innerJoin(projects, eq(projects.id, builds.projectId))
    .where(eq(builds.id, buildId));
  return row ?? null;
}

async function withFailure(deps: GitHubReportDeps, buildId: string, b: { status: string | null; number: number | null; error: string | null }) {
  const status = b.status ?? "queued";
  const failed = status === "failed" || status === "timed_out";
  // The log is an extra: without it the summary still names the build's error.
  const failure = failed && deps.failureOf ? await deps.failureOf(buildId).catch(() => null) : null;
  return { status, number: b.number, error: b.error, failure };
}

function detailsUrl(deps: GitHubReportDeps, buildId: string): string | null {
  return deps.publicUrl ? new URL(`/builds/${buildId}`, deps.publicUrl).toString() : null;
}
