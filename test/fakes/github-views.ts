/**
 * The JSON the GitHub fake answers and sends: REST resources and webhook objects, with the
 * documented field names and types (GitHub's REST reference; octokit/webhooks payload-schemas for
 * the webhook variants), trimmed to the fields a client plausibly reads. One place, so the REST
 * answers and the webhook payloads describe a repository the same way.
 */

/** The state the views read (test/fakes/github.ts owns it). */
export interface FakeUser {
  id: number;
  login: string;
  type: "User" | "Organization" | "Bot";
  name: string | null;
  emails: { email: string; primary: boolean; verified: boolean; visibility: "public" | "private" | null }[];
  /** For an organization: the logins of its members. */
  members: string[];
}

export interface FakeRepo {
  id: number;
  owner: string;
  name: string;
  private: boolean;
  defaultBranch: string;
  /** Branch and tag names to commit SHAs (deployments resolve refs here). */
  refs: Record<string, string>;
  /** A bare repository on disk served by git http-backend, if any. */
  gitDir?: string;
  /** "owner/name" of the repository this one forks. */
  forkOf?: string;
}

export interface FakeInstallation {
  id: number;
  appId: number;
  account: string;
  repositorySelection: "all" | "selected";
  repositoryIds: Set<number>;
  permissions: Record<string, string>;
  events: string[];
  suspended: boolean;
  createdAt: Date;
}

export interface Urls {
  api: string;
  web: string;
}

const ISO = "2026-01-01T00:00:00Z";
const nodeId = (kind: string, id: number): string => Buffer.from(`0:${kind}${id}`).toString("base64");

export function userView(u: FakeUser, urls: Urls): Record<string, unknown> {
  return {
    login: u.login,
    id: u.id,
    node_id: nodeId("User", u.id),
    avatar_url: `${urls.web}/avatars/u/${u.id}`,
    gravatar_id: "",
    url: `${urls.api}/users/${u.login}`,
    html_url: `${urls.web}/${u.login}`,
    repos_url: `${urls.api}/users/${u.login}/repos`,
    type: u.type,
    site_admin: false,
  };
}

/** GET /user: the simple user plus the profile fields. */
export function privateUserView(u: FakeUser, urls: Urls): Record<string, unknown> {
  const publicEmail = u.emails.find((e) => e.visibility === "public")?.email ?? null;
  return { ...userView(u, urls), name: u.name, email: publicEmail, created_at: ISO, updated_at: ISO };
}

/** A repository as REST answers it (`push` webhooks differ: see {@link webhookRepoView}). */
export function repoView(r: FakeRepo, owner: FakeUser, urls: Urls): Record<string, unknown> {
  const full = `${r.owner}/${r.name}`;
  return {
    id: r.id,
    node_id: nodeId("Repository", r.id),
    name: r.name,
    full_name: full,
    private: r.private,
    owner: userView(owner, urls),
    html_url: `${urls.web}/${full}`,
    description: null,
    fork: r.forkOf !== undefined,
    url: `${urls.api}/repos/${full}`,
    deployments_url: `${urls.api}/repos/${full}/deployments`,
    created_at: ISO,
    updated_at: ISO,
    pushed_at: ISO,
    git_url: `git://${new URL(urls.web).host}/${full}.git`,
    ssh_url: `git@${new URL(urls.web).hostname}:${full}.git`,
    clone_url: `${urls.web}/${full}.git`,
    homepage: null,
    size: 0,
    default_branch: r.defaultBranch,
    visibility: r.private ? "private" : "public",
    archived: false,
    disabled: false,
    topics: [],
  };
}

/** In `push` payloads created_at and pushed_at are Unix seconds and the owner carries name and email. */
export function webhookRepoView(r: FakeRepo, owner: FakeUser, urls: Urls, event: string): Record<string, unknown> {
  const view = repoView(r, owner, urls);
  if (event !== "push") return view;
  const seconds = Math.floor(Date.parse(ISO) / 1000);
  const email = owner.emails[0]?.email ?? null;
  return { ...view, owner: { ...(view.owner as object), name: owner.login, email }, created_at: seconds, pushed_at: seconds, master_branch: r.defaultBranch };
}

export function repoLiteView(r: FakeRepo): Record<string, unknown> {
  return { id: r.id, node_id: nodeId("Repository", r.id), name: r.name, full_name: `${r.owner}/${r.name}`, private: r.private };
}

export function installationView(i: FakeInstallation, account: FakeUser, appSlug: string, urls: Urls): Record<string, unknown> {
  return {
    id: i.id,
    account: userView(account, urls),
    repository_selection: i.repositorySelection,
    access_tokens_url: `${urls.api}/app/installations/${i.id}/access_tokens`,
    repositories_url: `${urls.api}/installation/repositories`,
    html_url: `${urls.web}/settings/installations/${i.id}`,
    app_id: i.appId,
    app_slug: appSlug,
    target_id: account.id,
    target_type: account.type === "Organization" ? "Organization" : "User",
    permissions: i.permissions,
    events: i.events,
    created_at: i.createdAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
    updated_at: i.createdAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
    single_file_name: null,
    suspended_by: null,
    suspended_at: i.suspended ? ISO : null,
  };
}

export { nodeId };
