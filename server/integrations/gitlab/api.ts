/**
 * A small typed client for the GitLab REST API v4 endpoints Sparki uses, over
 * server/integrations/gitlab/http.ts (retries, Retry-After, zod-checked answers). Answers are
 * parsed down to the fields Sparki reads.
 *
 * Which token goes where (GitLab's rules, which the fake in test/fakes/gitlab.ts enforces):
 * - a project access token (`api` scope, Developer role or more), kept as a project secret:
 *   the project, commit statuses, and (`read_repository`) clones;
 * - a user's OAuth token from the sign-in flow (oauth.ts): `GET /user`.
 * Both go as `Authorization: Bearer`, which GitLab takes for every kind of token.
 *
 * Usage: `const gl = new GitLabClient(token, { baseUrl: env.GITLAB_URL })`, then e.g.
 * `await gl.setCommitStatus("acme/shop", sha, { state: "running", name: "sparki", target_url })`.
 * Every failure is a GitLabApiError (status 0 when GitLab did not answer).
 */
import { z } from "zod";
import { type GitLabTransport, gitlabRequest } from "./http.ts";

export const Project = z.object({
  id: z.number(),
  path_with_namespace: z.string(),
  // An empty repository has no default branch yet.
  default_branch: z.string().nullable().optional(),
  visibility: z.enum(["private", "internal", "public"]).optional(),
  http_url_to_repo: z.string(),
  web_url: z.string(),
  // The token's own role in the project (present when the call was authenticated).
  permissions: z
    .object({
      project_access: z.object({ access_level: z.number() }).nullable().optional(),
      group_access: z.object({ access_level: z.number() }).nullable().optional(),
    })
    .optional(),
});
export type Project = z.infer<typeof Project>;

export const CommitState = z.enum(["pending", "running", "success", "failed", "canceled", "skipped"]);
export type CommitState = z.infer<typeof CommitState>;

export const CommitStatus = z.object({
  id: z.number(),
  sha: z.string(),
  ref: z.string().nullable(),
  // GitLab also reports `created` (never set through the API).
  status: z.string(),
  name: z.string(),
  target_url: z.string().nullable(),
  description: z.string().nullable(),
});
export type CommitStatus = z.infer<typeof CommitStatus>;

/**
 * The signed-in user (`GET /user`). `email` is the primary address; GitLab lets a user sign in
 * before confirming it when the instance's confirmation setting is "soft", so only
 * `confirmed_at` makes it trustworthy (see {@link verifiedEmail}).
 */
export const User = z.object({
  id: z.number(),
  username: z.string(),
  name: z.string(),
  state: z.string(),
  email: z.string().optional(),
  confirmed_at: z.string().nullable().optional(),
  avatar_url: z.string().nullable().optional(),
  bot: z.boolean().optional(),
});
export type User = z.infer<typeof User>;

/** What a commit status says, as the POST takes it. */
export interface StatusInput {
  state: CommitState;
  /** The branch or tag; GitLab picks a branch containing the commit when left out. */
  ref?: string;
  /** Tells Sparki's status from other systems' on the same commit; GitLab's default is "default". */
  name?: string;
  target_url?: string;
  description?: string;
}

/** A project as the API names it: its numeric id, or its full path (URL-encoded here). */
export function projectRef(project: number | string): string {
  return typeof project === "number" ? String(project) : encodeURIComponent(project);
}

/** The primary email of a GitLab user if GitLab has confirmed it, else null (never trust the rest). */
export function verifiedEmail(user: User): string | null {
  if (user.state !== "active" || user.bot === true || !user.email || !user.confirmed_at) return null;
  return user.email;
}

export class GitLabClient {
  private readonly auth: string;

  constructor(
    token: string,
    private readonly transport: GitLabTransport = {},
  ) {
    this.auth = `Bearer ${token}`;
  }

  /** `GET /projects/:id`: 404 (GitLabApiError) when it does not exist or the token cannot see it. */
  getProject(project: number | string): Promise<Project> {
    return gitlabRequest(this.transport, {
      method: "GET",
      path: `/api/v4/projects/${projectRef(project)}`,
      auth: this.auth,
      answer: Project,
      idempotent: true,
    });
  }

  /**
   * `POST /projects/:id/statuses/:sha`. GitLab updates the token's pending or running status of
   * that name and ref, or starts a new one; it refuses with 400 ("Cannot transition status via
   * :run from :running") an event its state machine does not allow: `pending` or `running` twice,
   * `running` → `pending`. Retried on transient failures: a repeat of a final state only records
   * it again, and a repeat of pending/running after a lost answer is that same 400, which the
   * caller may read as "already there" ({@link isRefusedTransition}). A 409 ("Another update to
   * this commit status is in progress": GitLab could not take its lock and did nothing) is retried.
   */
  setCommitStatus(project: number | string, sha: string, input: StatusInput): Promise<CommitStatus> {
    return gitlabRequest(this.transport, {
      method: "POST",
      path: `/api/v4/projects/${projectRef(project)}/statuses/${encodeURIComponent(sha)}`,
      auth: this.auth,
      json: input,
      answer: CommitStatus,
      idempotent: true,
      transient: [409],
    });
  }

  /** `GET /projects/:id/repository/commits/:sha/statuses`: the latest per name, or every one with `all`. */
  listCommitStatuses(project: number | string, sha: string, filter: { ref?: string; name?: string; all?: boolean } = {}): Promise<CommitStatus[]> {
    return gitlabRequest(this.transport, {
      method: "GET",
      path: `/api/v4/projects/${projectRef(project)}/repository/commits/${encodeURIComponent(sha)}/statuses`,
      auth: this.auth,
      query: { ref: filter.ref, name: filter.name, all: filter.all, per_page: 100 },
      answer: z.array(CommitStatus),
      idempotent: true,
    });
  }

  /** `GET /user`: the user the token belongs to (needs `read_user`, `read_api` or `api`). */
  currentUser(): Promise<User> {
    return gitlabRequest(this.transport, { method: "GET", path: "/api/v4/user", auth: this.auth, answer: User, idempotent: true });
  }
}

/** Whether an error is GitLab refusing a status transition (the status already moved past it). */
export function isRefusedTransition(err: unknown): boolean {
  return err instanceof Error && "status" in err && err.status === 400 && /Cannot transition status/.test(err.message);
}
