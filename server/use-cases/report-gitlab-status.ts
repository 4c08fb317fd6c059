/**
 * The queue consumer's GitLab step for a build event (`build.requested`, `build.started`,
 * `build.completed`): when the build's project is linked to GitLab and the build knows its
 * commit, the build's current state goes to the commit as the "sparki" status
 * (server/integrations/gitlab/status-reporter.ts). Never throws for GitLab's sake; only a
 * Postgres failure (the caller retries the message) propagates.
 */
import { eq } from "drizzle-orm";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { builds, gitlabLinks } from "../db/schema.js";
import { openGitLabSecret } from "../integrations/gitlab/link-secrets.js";
import { type ReportOutcome, reportCommitStatus } from "../integrations/gitlab/status-reporter.js";

export type GitLabStatusResult = { skipped: string } | ReportOutcome;

export async function reportGitLabStatus(
  config: Pick<Config, "SECRETS_KEY" | "GITLAB_URL" | "PUBLIC_URL">,
  db: Db,
  buildId: string,
  fetcher?: typeof fetch,
): Promise<GitLabStatusResult> {
  const [row] = await db
    .select({
      projectId: builds.projectId,
      status: builds.status,
      number: builds.number,
      branch: builds.branch,
      tag: builds.tag,
      commitSha: builds.commitSha,
      gitlabProjectId: gitlabLinks.gitlabProjectId,
      sealedToken: gitlabLinks.accessTokenCiphertext,
    })
    .from(builds)
    .innerJoin(gitlabLinks, eq(gitlabLinks.projectId, builds.projectId))
    .where(eq(builds.id, buildId));
  if (!row?.projectId) return { skipped: "project not linked to GitLab" };
  // A build of a branch head learns its commit from its plan job; until then there is nothing to mark.
  if (!row.commitSha) return { skipped: "commit not known yet" };
  if (!row.status) return { skipped: "no status" };
  const accessToken = await openGitLabSecret(config, row.projectId, "access", row.sealedToken);
  if (accessToken === null) return { skipped: "access token cannot be opened (SECRETS_KEY missing or changed)" };
  return reportCommitStatus(
    {
      gitlabProjectId: row.gitlabProjectId,
      accessToken,
      sha: row.commitSha,
      ref: row.branch ?? row.tag,
      buildStatus: row.status,
      buildNumber: row.number,
      targetUrl: config.PUBLIC_URL ? new URL(`/builds/${buildId}`, config.PUBLIC_URL).toString() : null,
    },
    { baseUrl: config.GITLAB_URL, ...(fetcher ? { fetch: fetcher } : {}) },
  );
}
