/**
 * GitHub App webhook deliveries for tests, from the fake's state: payloads shaped like octokit's
 * published schemas (github:octokit/webhooks, payload-schemas/api.github.com: push/event,
 * pull_request/{opened,synchronize,reopened,closed}, installation/{created,deleted},
 * installation_repositories/{added,removed}), trimmed to the fields a consumer reads but with the
 * documented names and types, and signed like GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256
 * of the raw body>` with `X-GitHub-Event`, `X-GitHub-Delivery` (a GUID) and the hook headers.
 *
 * The signature is computed here with node:crypto, not with the library under test.
 */
import { createHmac, randomUUID } from "node:crypto";
import type { FakeGitHub } from "./github.ts";
import { installationView, repoLiteView, userView, webhookRepoView } from "./github-views.ts";

export const ZERO_SHA = "0000000000000000000000000000000000000000";

export interface Delivery {
  id: string;
  event: string;
  body: string;
  headers: Record<string, string>;
}

/** Signs `payload` (or an exact raw body) as GitHub delivers it. */
export function deliver(secret: string, event: string, payload: unknown, o: { id?: string; hookId?: number; installationId?: number } = {}): Delivery {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const id = o.id ?? randomUUID();
  return {
    id,
    event,
    body,
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/fake",
      "x-github-event": event,
      "x-github-delivery": id,
      "x-github-hook-id": String(o.hookId ?? 1),
      "x-github-hook-installation-target-type": "integration",
      "x-github-hook-installation-target-id": String(o.installationId ?? 1),
      "x-hub-signature-256": signature(secret, body),
    },
  };
}

export function signature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

const sha = (seed: string): string => createHmac("sha1", "fake").update(seed).digest("hex");

function commit(gh: FakeGitHub, fullName: string, id: string, message: string, author: string): Record<string, unknown> {
  const person = { name: author, email: `${author}@users.noreply.github.test`, username: author };
  return {
    id,
    tree_id: sha(`tree:${id}`),
    distinct: true,
    message,
    timestamp: "2026-01-01T00:00:00Z",
    url: `${gh.webUrl}/${fullName}/commit/${id}`,
    author: person,
    committer: person,
    added: [],
    removed: [],
    modified: ["README.md"],
  };
}

/** `push` to a branch or tag (`ref` in full); `deleted` makes it a branch deletion (after = zeros, no commits). */
export function pushPayload(
  gh: FakeGitHub,
  o: {
    repo: string;
    ref: string;
    after?: string;
    /** An annotated tag's commit: `after` is then the tag object and `head_commit` this commit. */
    headCommit?: string;
    before?: string;
    created?: boolean;
    deleted?: boolean;
    forced?: boolean;
    installationId?: number;
    sender?: string;
    message?: string;
  },
): Record<string, unknown> {
  const r = gh.repo(o.repo);
  const sender = gh.user(o.sender ?? r.owner);
  const deleted = o.deleted === true;
  const after = deleted ? ZERO_SHA : (o.after ?? sha(`${o.repo}:${o.ref}:after`));
  const before = o.before ?? (o.created ? ZERO_SHA : sha(`${o.repo}:${o.ref}:before`));
  const head = deleted ? null : commit(gh, o.repo, o.headCommit ?? after, o.message ?? "Update README.md", sender.login);
  return {
    ref: o.ref,
    before,
    after,
    created: o.created === true,
    deleted,
    forced: o.forced === true,
    base_ref: o.ref.startsWith("refs/tags/") ? `refs/heads/${r.defaultBranch}` : null,
    compare: `${gh.webUrl}/${o.repo}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits: head ? [head] : [],
    head_commit: head,
    repository: webhookRepoView(r, gh.user(r.owner), gh.urls, "push"),
    pusher: { name: sender.login, email: sender.emails[0]?.email ?? null },
    sender: userView(sender, gh.urls),
    ...(o.installationId === undefined ? {} : { installation: { id: o.installationId, node_id: `I_${o.installationId}` } }),
  };
}

/**
 * `pull_request` with `action`; `headRepo` (a fork's full name) differs from `repo` for a pull
 * request from a fork, null when the fork was deleted.
 */
export function pullRequestPayload(
  gh: FakeGitHub,
  o: {
    repo: string;
    action: "opened" | "synchronize" | "reopened" | "closed" | "labeled" | "edited";
    number: number;
    headRef: string;
    headSha?: string;
    headRepo?: string | null;
    baseRef?: string;
    baseSha?: string;
    merged?: boolean;
    installationId?: number;
    sender?: string;
    before?: string;
  },
): Record<string, unknown> {
  const base = gh.repo(o.repo);
  const headRepoName = o.headRepo === undefined ? o.repo : o.headRepo;
  const headRepo = headRepoName === null ? null : gh.repo(headRepoName);
  const sender = gh.user(o.sender ?? headRepo?.owner ?? base.owner);
  const headSha = o.headSha ?? sha(`${o.repo}#${o.number}:head`);
  const closed = o.action === "closed";
  const side = (ref: string, s: string, r: typeof base | null) => ({
    label: `${r?.owner ?? "ghost"}:${ref}`,
    ref,
    sha: s,
    user: userView(r ? gh.user(r.owner) : sender, gh.urls),
    repo: r ? webhookRepoView(r, gh.user(r.owner), gh.urls, "pull_request") : null,
  });
  const url = `${gh.apiUrl}/repos/${o.repo}/pulls/${o.number}`;
  return {
    action: o.action,
    number: o.number,
    ...(o.action === "synchronize" ? { before: o.before ?? sha(`${o.repo}#${o.number}:before`), after: headSha } : {}),
    pull_request: {
      url,
      id: base.id * 1000 + o.number,
      node_id: `PR_${base.id}_${o.number}`,
      html_url: `${gh.webUrl}/${o.repo}/pull/${o.number}`,
      diff_url: `${gh.webUrl}/${o.repo}/pull/${o.number}.diff`,
      patch_url: `${gh.webUrl}/${o.repo}/pull/${o.number}.patch`,
      issue_url: `${gh.apiUrl}/repos/${o.repo}/issues/${o.number}`,
      number: o.number,
      state: closed ? "closed" : "open",
      locked: false,
      title: `Change ${o.number}`,
      user: userView(sender, gh.urls),
      body: null,
      created_at: "2026-01-01T00:00:00Z",
      updated_at: "2026-01-01T00:00:00Z",
      closed_at: closed ? "2026-01-02T00:00:00Z" : null,
      merged_at: closed && o.merged ? "2026-01-02T00:00:00Z" : null,
      merge_commit_sha: null,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      labels: [],
      milestone: null,
      draft: false,
      head: side(o.headRef, headSha, headRepo),
      base: side(o.baseRef ?? base.defaultBranch, o.baseSha ?? sha(`${o.repo}:base`), base),
      author_association: headRepo && headRepo.id === base.id ? "OWNER" : "CONTRIBUTOR",
      auto_merge: null,
      active_lock_reason: null,
      merged: closed ? o.merged === true : false,
      mergeable: null,
      merged_by: closed && o.merged ? userView(gh.user(base.owner), gh.urls) : null,
      comments: 0,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: 1,
      additions: 1,
      deletions: 0,
      changed_files: 1,
    },
    repository: webhookRepoView(base, gh.user(base.owner), gh.urls, "pull_request"),
    sender: userView(sender, gh.urls),
    ...(o.installationId === undefined ? {} : { installation: { id: o.installationId, node_id: `I_${o.installationId}` } }),
  };
}

/** `installation` created or deleted, from the installation's current state. */
export function installationPayload(
  gh: FakeGitHub,
  o: { action: "created" | "deleted" | "suspend" | "unsuspend"; installationId: number; sender?: string },
): Record<string, unknown> {
  const inst = gh.installations.get(o.installationId);
  if (!inst) throw new Error(`fake GitHub: no installation ${o.installationId}`);
  const app = gh.apps.get(inst.appId);
  const sender = gh.user(o.sender ?? inst.account);
  return {
    action: o.action,
    installation: installationView(inst, gh.user(inst.account), app?.slug ?? "app", gh.urls),
    repositories: gh.installationRepos(inst).map(repoLiteView),
    // Documented as a user on created (when someone asked an owner to install) and null on deleted.
    ...(o.action === "deleted" ? { requester: null } : {}),
    sender: userView(sender, gh.urls),
  };
}

/** `installation_repositories` added or removed `repos` (full names), after changing the fake's state to match. */
export function installationRepositoriesPayload(
  gh: FakeGitHub,
  o: { action: "added" | "removed"; installationId: number; repos: string[]; sender?: string },
): Record<string, unknown> {
  const inst = gh.installations.get(o.installationId);
  if (!inst) throw new Error(`fake GitHub: no installation ${o.installationId}`);
  const repos = o.repos.map((n) => gh.repo(n));
  if (inst.repositorySelection === "all") for (const r of gh.installationRepos(inst)) inst.repositoryIds.add(r.id);
  inst.repositorySelection = "selected";
  for (const r of repos) o.action === "added" ? inst.repositoryIds.add(r.id) : inst.repositoryIds.delete(r.id);
  const app = gh.apps.get(inst.appId);
  const sender = gh.user(o.sender ?? inst.account);
  return {
    action: o.action,
    installation: installationView(inst, gh.user(inst.account), app?.slug ?? "app", gh.urls),
    repository_selection: inst.repositorySelection,
    repositories_added: o.action === "added" ? repos.map(repoLiteView) : [],
    repositories_removed: o.action === "removed" ? repos.map(repoLiteView) : [],
    requester: null,
    sender: userView(sender, gh.urls),
  };
}
