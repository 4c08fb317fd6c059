/**
 * A small typed client for the GitHub REST endpoints Sparki uses, over server/integrations/github/http.ts
 * (retries, rate limits, zod-checked answers). Answers are parsed down to the fields Sparki reads.
 *
 * Which token goes where (GitHub's rules, which the fake in test/fakes/github.ts enforces):
 * - an installation token (app-auth.ts#mintInstallationToken): repositories, check runs, deployments;
 * - a user token from the OAuth web flow (oauth.ts): `/user`, `/user/emails`, `/user/installations`
 *   (which installations of this app the signed-in user can reach: how a workspace admin proves
 *   access to an installation).
 *
 * Usage: `const gh = new GitHubClient(token, { apiUrl: env.GITHUB_API_URL })`, then e.g.
 * `await gh.createCheckRun("acme", "shop", { name: "sparki", head_sha, status: "queued", details_url })`.
 * Every failure is a GitHubApiError (status 0 when GitHub did not answer).
 */
import { z } from "zod";
import { GitHubApiError, type GitHubTransport, githubRequest } from "./http.ts";

export const Repository = z.object({
  id: z.number(),
  name: z.string(),
  full_name: z.string(),
  private: z.boolean(),
  owner: z.object({ login: z.string(), id: z.number() }),
  default_branch: z.string(),
  clone_url: z.string(),
  html_url: z.string(),
});
export type Repository = z.infer<typeof Repository>;

export const Installation = z.object({
  id: z.number(),
  app_id: z.number(),
  account: z.object({ login: z.string(), id: z.number(), type: z.string() }).nullable(),
  repository_selection: z.enum(["all", "selected"]),
  permissions: z.record(z.string(), z.string()),
  suspended_at: z.string().nullable().optional(),
  created_at: z.iso.datetime({ offset: true }),
});
export type Installation = z.infer<typeof Installation>;

export const User = z.object({ id: z.number(), login: z.string(), name: z.string().nullable().optional(), avatar_url: z.string().optional() });
export type User = z.infer<typeof User>;

export const UserEmail = z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() });
export type UserEmail = z.infer<typeof UserEmail>;

export const CheckStatus = z.enum(["queued", "in_progress", "completed"]);
export const CheckConclusion = z.enum(["action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"]);

export const CheckRun = z.object({
  id: z.number(),
  head_sha: z.string(),
  name: z.string(),
  status: z.string(),
  conclusion: z.string().nullable(),
  details_url: z.string().nullable(),
  html_url: z.string().nullable(),
});
export type CheckRun = z.infer<typeof CheckRun>;

/** Output shown on the check run's page; GitHub caps summary and text at 65,535 characters each. */
export interface CheckOutput {
  title: string;
  summary: string;
  text?: string;
}

export interface CheckRunFields {
  name?: string;
  details_url?: string;
  external_id?: string;
  status?: z.infer<typeof CheckStatus>;
  /** Setting it completes the run (GitHub sets status completed). */
  conclusion?: z.infer<typeof CheckConclusion>;
  started_at?: string;
  completed_at?: string;
  output?: CheckOutput;
}

export const Deployment = z.object({
  id: z.number(),
  sha: z.string(),
  ref: z.string(),
  environment: z.string(),
  transient_environment: z.boolean().optional(),
  production_environment: z.boolean().optional(),
});
export type Deployment = z.infer<typeof Deployment>;

export const DeploymentState = z.enum(["error", "failure", "inactive", "in_progress", "queued", "pending", "success"]);
export const DeploymentStatus = z.object({
  id: z.number(),
  state: DeploymentState,
  environment: z.string().optional(),
  environment_url: z.string().optional(),
  log_url: z.string().optional(),
  description: z.string().nullable().optional(),
});
export type DeploymentStatus = z.infer<typeof DeploymentStatus>;

/** The most pages a listing follows (100 items each): a bound, not an expectation. */
const MAX_PAGES = 50;
const path = (owner: string, repo: string): string => `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;

/** The endpoints, for one token. */
export class GitHubClient {
  private readonly auth: string;
  constructor(
    token: string,
    private readonly transport: GitHubTransport = {},
  ) {
    this.auth = `Bearer ${token}`;
  }

  private async call<T>(method: "GET" | "POST" | "PATCH", p: string, answer: z.ZodType<T>, idempotent: boolean, json?: unknown): Promise<T> {
    return (await githubRequest(this.transport, { method, path: p, auth: this.auth, answer, idempotent, ...(json === undefined ? {} : { json }) })).data;
  }

  /** Pages through a listing whose answer wraps the items in `key`. */
  private async list<T>(p: string, key: string, item: z.ZodType<T>): Promise<T[]> {
    const page = z.object({ total_count: z.number() }).and(z.record(z.string(), z.unknown()));
    const items = z.array(item);
    const out: T[] = [];
    for (let n = 1; n <= MAX_PAGES; n++) {
      const { data } = await githubRequest(this.transport, {
        method: "GET",
        path: p,
        query: { per_page: 100, page: n },
        auth: this.auth,
        answer: page,
        idempotent: true,
      });
      const got = items.safeParse(data[key]);
      if (!got.success) throw new GitHubApiError(502, `GET ${p}: unexpected answer: ${z.prettifyError(got.error)}`);
      out.push(...got.data);
      if (got.data.length < 100 || out.length >= data.total_count) break;
    }
    return out;
  }

  /** Repositories an installation token reaches. */
  listInstallationRepositories(): Promise<Repository[]> {
    return this.list("/installation/repositories", "repositories", Repository);
  }

  /** A repository; a private one the token cannot reach is a 404, as if it did not exist. */
  getRepository(owner: string, repo: string): Promise<Repository> {
    return this.call("GET", path(owner, repo), Repository, true);
  }

  /** Installations of this app that the signed-in user (a user token) can reach. */
  listUserInstallations(): Promise<Installation[]> {
    return this.list("/user/installations", "installations", Installation);
  }

  getUser(): Promise<User> {
    return this.call("GET", "/user", User, true);
  }

  /** The user's addresses; only `verified` ones may be trusted. */
  listUserEmails(): Promise<UserEmail[]> {
    return this.call("GET", "/user/emails", z.array(UserEmail), true);
  }

  /** Creates a check run (not retried after a 5xx: it may exist already). */
  createCheckRun(owner: string, repo: string, fields: CheckRunFields & { name: string; head_sha: string }): Promise<CheckRun> {
    return this.call("POST", `${path(owner, repo)}/check-runs`, CheckRun, false, fields);
  }

  /** Updates a check run; sending the same fields twice is harmless, so it is retried. */
  updateCheckRun(owner: string, repo: string, id: number, fields: CheckRunFields): Promise<CheckRun> {
    return this.call("PATCH", `${path(owner, repo)}/check-runs/${id}`, CheckRun, true, fields);
  }

  /**
   * Creates a deployment of `ref`. `required_contexts: []` and `auto_merge: false` by default:
   * GitHub otherwise refuses (409) while the commit's own checks (Sparki's among them) are not green,
   * and may merge the default branch into the ref.
   */
  createDeployment(
    owner: string,
    repo: string,
    fields: { ref: string; environment: string; description?: string; transient_environment?: boolean; production_environment?: boolean; payload?: unknown },
  ): Promise<Deployment> {
    return this.call("POST", `${path(owner, repo)}/deployments`, Deployment, false, { auto_merge: false, required_contexts: [], ...fields });
  }

  async listDeployments(owner: string, repo: string, filter: { sha?: string; ref?: string; environment?: string } = {}): Promise<Deployment[]> {
    const query = Object.fromEntries(Object.entries(filter).filter((e): e is [string, string] => e[1] !== undefined));
    const p = `${path(owner, repo)}/deployments`;
    return (await githubRequest(this.transport, { method: "GET", path: p, query, auth: this.auth, answer: z.array(Deployment), idempotent: true })).data;
  }

  createDeploymentStatus(
    owner: string,
    repo: string,
    deploymentId: number,
    fields: {
      state: z.infer<typeof DeploymentState>;
      environment_url?: string;
      log_url?: string;
      environment?: string;
      description?: string;
      auto_inactive?: boolean;
    },
  ): Promise<DeploymentStatus> {
    return this.call("POST", `${path(owner, repo)}/deployments/${deploymentId}/statuses`, DeploymentStatus, false, fields);
  }

  listDeploymentStatuses(owner: string, repo: string, deploymentId: number): Promise<DeploymentStatus[]> {
    return this.call("GET", `${path(owner, repo)}/deployments/${deploymentId}/statuses`, z.array(DeploymentStatus), true);
  }
}
