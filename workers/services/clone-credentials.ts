/**
 * The clone credential a claimed job carries (core/contracts/runner.ts `cloneCredential`): for a
 * project imported from GitHub, an installation token minted for this job alone, narrowed to the
 * project's one repository with `contents: read` (GitHub adds `metadata: read`), valid an hour
 * at most. Minted at claim time for the plan job and each step job, never cached or stored: it
 * lives in the claim's answer and in the coordinator's masks (dropped when the build ends).
 *
 * The installation must be linked to the project's own workspace, not deleted, and still reach the
 * repository (its `installation_repositories` rows): a project row naming another workspace's
 * installation gets nothing. Only private repositories get one (as the installation's events
 * last described them): a public one clones without, and its claims never wait on GitHub.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { CloneCredential } from "../../core/contracts/runner.ts";
import { SparkiError } from "../../core/errors.js";
import type { Config } from "../../server/config.js";
import type { Db } from "../../server/db/client.js";
import { githubInstallationRepositories, githubInstallations, projects } from "../../server/db/schema.js";
import { mintCloneToken } from "../../server/integrations/github/app-auth.ts";
import { GitHubApiError, type GitHubTransport } from "../../server/integrations/github/http.ts";

/** GitHub's documented username for an installation token over HTTPS. */
export const TOKEN_USERNAME = "x-access-token";

/**
 * The credential for a job of `projectId`, or null when the project is not linked to GitHub (or
 * the app is not configured, or GitHub refuses for good). GitHub unreachable, 5xx or rate-limited:
 * `upstream_unavailable` (503), so the caller hands the job back and the runner claims again later.
 */
export async function cloneCredentialFor(
  config: Pick<Config, "GITHUB_APP_ID" | "GITHUB_APP_PRIVATE_KEY" | "GITHUB_API_URL">,
  db: Db,
  projectId: string,
  transport: Omit<GitHubTransport, "apiUrl"> = {},
): Promise<CloneCredential | null> {
  if (!config.GITHUB_APP_ID || !config.GITHUB_APP_PRIVATE_KEY) return null;
  const [link] = await db
    .select({
      installationId: githubInstallations.id,
      repositoryId: githubInstallationRepositories.repositoryId,
      private: githubInstallationRepositories.private,
    })
    .from(projects)
    .innerJoin(
      githubInstallations,
      and(
        eq(githubInstallations.id, projects.githubInstallationId),
        eq(githubInstallations.workspaceId, projects.workspaceId),
        isNull(githubInstallations.deletedAt),
      ),
    )
    .innerJoin(
      githubInstallationRepositories,
      and(
        eq(githubInstallationRepositories.installationId, githubInstallations.id),
        eq(githubInstallationRepositories.repositoryId, projects.githubRepositoryId),
      ),
    )
    .where(eq(projects.id, projectId));
  // A public repository clones without one: no GitHub call on the claim's path.
  if (!link?.private) return null;
  try {
    const minted = await mintCloneToken({ appId: config.GITHUB_APP_ID, privateKey: config.GITHUB_APP_PRIVATE_KEY }, link.installationId, link.repositoryId, {
      ...transport,
      apiUrl: config.GITHUB_API_URL,
    });
    return { username: TOKEN_USERNAME, password: minted.token };
  } catch (err) {
    // GitHub's final word (the installation no longer reaches the repository): the job runs
    // without, and a private repository's checkout fails and says so. Only a blip is retried.
    if (err instanceof GitHubApiError && !err.retryable) return null;
    const why = err instanceof GitHubApiError ? `GitHub answered ${err.status || "nothing"}` : "the token could not be minted";
    throw new SparkiError("upstream_unavailable", { detail: `No clone token for this job: ${why}. Try again shortly.`, retryAfter: 5, cause: err });
  }
}
