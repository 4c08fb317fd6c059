/**
 * GitLab webhook deliveries for tests, shaped like the payloads in GitLab's "Webhook events"
 * (https://docs.gitlab.com/user/project/integrations/webhook_events/) and sent with the documented
 * delivery headers (https://docs.gitlab.com/user/project/integrations/webhooks/#delivery-headers):
 * `X-Gitlab-Event`, `X-Gitlab-Token` (the hook's secret token, in clear), `X-Gitlab-Event-UUID`,
 * `X-Gitlab-Webhook-UUID`, `X-Gitlab-Instance` and `Idempotency-Key` (GitLab 17.4+, the same on
 * every retry of one delivery).
 */
// No Node imports: the workerd tests build their payloads with this file too.
const ZERO_SHA = "0".repeat(40);
const randomUUID = (): string => crypto.randomUUID();

/** What a payload needs of a project (a FakeProject fits). */
export interface HookProject {
  id: number;
  path_with_namespace: string;
  default_branch: string;
  visibility: "public" | "private";
}

export interface HookUser {
  id: number;
  username: string;
  name: string;
}

const defaultUser: HookUser = { id: 1, username: "root", name: "Administrator" };

/** The `project` object of every payload (and `source`/`target` of a merge request, without `id`). */
export function projectJson(baseUrl: string, p: HookProject): Record<string, unknown> {
  const web = `${baseUrl}/${p.path_with_namespace}`;
  const host = new URL(baseUrl).host;
  return {
    id: p.id,
    name: p.path_with_namespace.split("/").pop(),
    description: "",
    web_url: web,
    avatar_url: null,
    git_ssh_url: `git@${host}:${p.path_with_namespace}.git`,
    git_http_url: `${web}.git`,
    namespace: p.path_with_namespace.split("/").slice(0, -1).join("/"),
    visibility_level: p.visibility === "public" ? 20 : 0,
    path_with_namespace: p.path_with_namespace,
    default_branch: p.default_branch,
    ci_config_path: null,
    homepage: web,
    url: `git@${host}:${p.path_with_namespace}.git`,
    ssh_url: `git@${host}:${p.path_with_namespace}.git`,
    http_url: `${web}.git`,
  };
}

function repositoryJson(baseUrl: string, p: HookProject): Record<string, unknown> {
  const web = `${baseUrl}/${p.path_with_namespace}`;
  return { name: p.path_with_namespace.split("/").pop(), url: `${web}.git`, description: "", homepage: web, git_http_url: `${web}.git`, visibility_level: 0 };
}

function commitJson(baseUrl: string, p: HookProject, sha: string, message: string): Record<string, unknown> {
  return {
    id: sha,
    message,
    title: message.split("\n")[0],
    timestamp: "2026-12-02T05:00:00+00:00",
    url: `${baseUrl}/${p.path_with_namespace}/-/commit/${sha}`,
    author: { name: "Jane Dev", email: "[REDACTED]" },
    added: [],
    modified: ["README.md"],
    removed: [],
  };
}

/**
 * A `push` (branch) or `tag_push` payload. `after` of 40 zeros is a deletion: GitLab then sends
 * `checkout_sha: null` and no commits. `before` of 40 zeros is a new branch or tag. For an
 * annotated tag `after` is the tag object and `checkoutSha` the commit it points at.
 */
export function pushPayload(
  baseUrl: string,
  p: HookProject,
  o: { ref: string; before?: string; after: string; checkoutSha?: string; commits?: { id: string; message: string }[]; user?: HookUser },
): Record<string, unknown> {
  const tag = o.ref.startsWith("refs/tags/");
  const deleted = o.after === ZERO_SHA;
  const user = o.user ?? defaultUser;
  const commits = deleted || tag ? [] : (o.commits ?? [{ id: o.after, message: "Change" }]);
  return {
    object_kind: tag ? "tag_push" : "push",
    event_name: tag ? "tag_push" : "push",
    before: o.before ?? ZERO_SHA,
    after: o.after,
    ref: o.ref,
    ref_protected: o.ref === `refs/heads/${p.default_branch}`,
    checkout_sha: deleted ? null : (o.checkoutSha ?? o.after),
    message: null,
    user_id: user.id,
    user_name: user.name,
    user_username: user.username,
    user_email: "",
    user_avatar: null,
    project_id: p.id,
    project: projectJson(baseUrl, p),
    commits: commits.map((c) => commitJson(baseUrl, p, c.id, c.message)),
    total_commits_count: commits.length,
    push_options: {},
    repository: repositoryJson(baseUrl, p),
  };
}

export type MergeRequestAction = "open" | "update" | "reopen" | "close" | "merge" | "approved" | "unapproved" | "approval" | "unapproval";

/**
 * A `merge_request` payload for the target project. `source` differs from `target` for a merge
 * request from a fork. `oldrev` (the previous head) is present only when an update pushed code.
 */
export function mergeRequestPayload(
  baseUrl: string,
  o: {
    target: HookProject;
    source?: HookProject;
    action: MergeRequestAction;
    iid: number;
    sourceBranch: string;
    targetBranch?: string;
    lastCommit: string;
    oldrev?: string;
    title?: string;
    user?: HookUser;
  },
): Record<string, unknown> {
  const source = o.source ?? o.target;
  const state = o.action === "close" ? "closed" : o.action === "merge" ? "merged" : "opened";
  const user = o.user ?? defaultUser;
  const { id: _sourceId, ...sourceJson } = projectJson(baseUrl, source);
  const { id: _targetId, ...targetJson } = projectJson(baseUrl, o.target);
  return {
    object_kind: "merge_request",
    event_type: "merge_request",
    user: { ...user, avatar_url: null, email: "[REDACTED]" },
    project: projectJson(baseUrl, o.target),
    repository: repositoryJson(baseUrl, o.target),
    object_attributes: {
      id: 1000 + o.iid,
      iid: o.iid,
      target_branch: o.targetBranch ?? o.target.default_branch,
      source_branch: o.sourceBranch,
      source_project_id: source.id,
      target_project_id: o.target.id,
      author_id: user.id,
      title: o.title ?? "A change",
      created_at: "2026-12-02T05:00:00Z",
      updated_at: "2026-12-02T05:00:00Z",
      state_id: state === "opened" ? 1 : state === "closed" ? 2 : 3,
      state,
      draft: false,
      work_in_progress: false,
      merge_status: "unchecked",
      detailed_merge_status: "checking",
      description: "",
      url: `${baseUrl}/${o.target.path_with_namespace}/-/merge_requests/${o.iid}`,
      source: sourceJson,
      target: targetJson,
      last_commit: {
        id: o.lastCommit,
        message: "Change",
        title: "Change",
        timestamp: "2026-12-02T05:00:00+00:00",
        url: `${baseUrl}/${source.path_with_namespace}/-/commit/${o.lastCommit}`,
        author: { name: "Jane Dev", email: "[REDACTED]" },
      },
      labels: [],
      action: o.action,
      ...(o.oldrev === undefined ? {} : { oldrev: o.oldrev }),
    },
    labels: [],
    changes: {},
    assignees: [],
    reviewers: [],
  };
}

/** The `X-Gitlab-Event` of each payload kind. */
export const EVENT_HEADER: Record<string, string> = { push: "Push Hook", tag_push: "Tag Push Hook", merge_request: "Merge Request Hook" };

export interface Delivery {
  /** The hook's secret token; omitted means the header is not sent (a hook without one). */
  token?: string;
  /** Overrides `X-Gitlab-Event` (by default from the payload's object_kind). */
  event?: string;
  /** `Idempotency-Key`: pass the same one to stand for GitLab retrying this delivery. */
  idempotencyKey?: string;
  eventUuid?: string;
  /** Leaves out Idempotency-Key, as a GitLab before 17.4 does. */
  legacy?: boolean;
  instance?: string;
  /** A raw body instead of the JSON of the payload (malformed or oversize attacks). */
  rawBody?: string;
}

/** The headers GitLab sends with one delivery. */
export function deliveryHeaders(payload: Record<string, unknown>, d: Delivery = {}): Record<string, string> {
  const kind = typeof payload.object_kind === "string" ? payload.object_kind : "";
  return {
    "content-type": "application/json",
    "user-agent": "GitLab/19.6.0",
    "x-gitlab-event": d.event ?? EVENT_HEADER[kind] ?? "Unknown Hook",
    "x-gitlab-instance": d.instance ?? "https://gitlab.example.com",
    "x-gitlab-webhook-uuid": randomUUID(),
    "x-gitlab-event-uuid": d.eventUuid ?? randomUUID(),
    ...(d.legacy ? {} : { "idempotency-key": d.idempotencyKey ?? randomUUID() }),
    ...(d.token === undefined ? {} : { "x-gitlab-token": d.token }),
  };
}

/** POSTs a delivery to `url` as GitLab's webhook worker would. */
export function deliver(url: string, payload: Record<string, unknown>, d: Delivery = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: deliveryHeaders(payload, d), body: d.rawBody ?? JSON.stringify(payload) });
}
