/**
 * The credential a runner clones a GitLab-linked project with: the project access token the link
 * holds (its `read_repository` scope), as HTTP Basic with any username, which GitLab accepts for
 * access tokens. Handed out at claim time with the job (workers/routes/runner.ts), like a GitHub
 * installation token, and only for the project's own repository on the GitLab instance: never
 * for another URL (a fork's merge request is cloned without it), never over plain http except on
 * loopback (core/git-url.ts refuses that anywhere else).
 */
import { eq } from "drizzle-orm";
import type { Config } from "../../config.js";
import type { Db } from "../../db/client.js";
import { gitlabLinks, projects } from "../../db/schema.js";
import { openGitLabSecret } from "./link-secrets.js";

export interface BasicCredential {
  username: string;
  password: string;
}

/** Same repository as git sees it: scheme, host (any case), path without a trailing `/` or `.git`. */
export function sameRepositoryUrl(a: string, b: string): boolean {
  const norm = (u: string): string | null => {
    try {
      const url = new URL(u);
      if (url.username || url.password) return null;
      return `${url.protocol}//${url.host.toLowerCase()}${url.pathname.replace(/\/+$/, "").replace(/\.git$/, "")}`;
    } catch {
      return null;
    }
  };
  const x = norm(a);
  return x !== null && x === norm(b);
}

/**
 * The clone credential for a job of `projectId` cloning `repoUrl`, or null: the project is not
 * linked, the URL is not the project's own repository on `GITLAB_URL`, or the token cannot be opened.
 */
export async function gitlabCloneCredential(
  config: Pick<Config, "SECRETS_KEY" | "GITLAB_URL">,
  db: Db,
  projectId: string,
  repoUrl: string,
): Promise<BasicCredential | null> {
  let origin: string;
  try {
    origin = new URL(repoUrl).origin;
  } catch {
    return null;
  }
  if (origin !== new URL(config.GITLAB_URL).origin) return null;
  const [row] = await db
    .select({ sealed: gitlabLinks.accessTokenCiphertext, gitUrl: projects.gitUrl })
    .from(gitlabLinks)
    .innerJoin(projects, eq(projects.id, gitlabLinks.projectId))
    .where(eq(gitlabLinks.projectId, projectId));
  if (!row || !sameRepositoryUrl(repoUrl, row.gitUrl)) return null;
  const token = await openGitLabSecret(config, projectId, "access", row.sealed);
  return token === null ? null : { username: "sparki", password: token };
}
