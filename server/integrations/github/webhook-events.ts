/**
 * The webhook events Sparki consumes, as zod schemas of only the fields it uses (names and types as
 * in octokit's published payload schemas, github:octokit/webhooks payload-schemas/api.github.com),
 * and what each becomes: a small typed event, or "ignored" with the reason.
 *
 * - `push`: a branch or tag; `commit` is null when the ref was deleted (nothing to build).
 * - `pull_request` opened, synchronize, reopened, closed; `fromFork` when the head repository is
 *   another one (or gone): such builds get no secrets and no deployments unless the workspace allows it.
 * - `installation` created, deleted, suspend, unsuspend; `installation_repositories` added, removed.
 *
 * Only run on a payload whose signature was verified (webhooks.ts). A payload of a consumed event
 * that does not fit is an error (WebhookRejected, 400), never a half-read event.
 */
import { z } from "zod";

const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, "a commit SHA");
const Name = z.string().min(1).max(256);
const Sender = z.object({ login: Name, id: z.number().int() });
const InstallationLite = z.object({ id: z.number().int().positive() });

const Repo = z.object({
  id: z.number().int(),
  name: Name,
  full_name: z.string().min(3).max(512),
  private: z.boolean(),
  owner: z.object({ login: Name }),
  default_branch: Name,
  clone_url: z.string().max(2048),
  html_url: z.string().max(2048),
});
const RepoLite = z.object({ id: z.number().int(), full_name: z.string().min(3).max(512), private: z.boolean() });

export const PushPayload = z.object({
  ref: z.string().min(1).max(1024),
  before: Sha,
  after: Sha,
  created: z.boolean(),
  deleted: z.boolean(),
  forced: z.boolean(),
  head_commit: z
    .object({ id: Sha, message: z.string(), timestamp: z.string(), author: z.object({ name: z.string(), email: z.string().nullable() }) })
    .nullable(),
  repository: Repo,
  sender: Sender,
  installation: InstallationLite.optional(),
});

const PrSide = z.object({ ref: z.string().min(1).max(1024), sha: Sha, repo: Repo.nullable() });
// Postgres keeps pull request numbers as integer (builds.pull_request, pull_request_previews).
const PrNumber = z.number().int().positive().max(2_147_483_647);
export const PullRequestPayload = z.object({
  action: z.enum(["opened", "synchronize", "reopened", "closed"]),
  number: PrNumber,
  pull_request: z.object({
    number: PrNumber,
    title: z.string(),
    html_url: z.string().max(2048),
    draft: z.boolean().optional(),
    merged: z.boolean().nullable().optional(),
    head: PrSide,
    base: PrSide.extend({ repo: Repo }),
  }),
  repository: Repo,
  sender: Sender,
  installation: InstallationLite.optional(),
});

const InstallationFull = z.object({
  id: z.number().int().positive(),
  app_id: z.number().int(),
  account: z.object({ login: Name, id: z.number().int(), type: z.string() }),
  repository_selection: z.enum(["all", "selected"]),
});
export const InstallationPayload = z.object({
  action: z.enum(["created", "deleted", "suspend", "unsuspend"]),
  installation: InstallationFull,
  repositories: z.array(RepoLite).optional(),
  sender: Sender,
});
export const InstallationRepositoriesPayload = z.object({
  action: z.enum(["added", "removed"]),
  installation: InstallationFull,
  repository_selection: z.enum(["all", "selected"]),
  repositories_added: z.array(RepoLite),
  repositories_removed: z.array(RepoLite.partial({ private: true })),
  sender: Sender,
});

/** A repository as the events name it. */
export interface RepoRef {
  id: number;
  fullName: string;
  owner: string;
  name: string;
  private: boolean;
  defaultBranch: string;
  cloneUrl: string;
  htmlUrl: string;
}
export interface RepoLite {
  id: number;
  fullName: string;
  private?: boolean;
}

export interface PushEvent {
  type: "push";
  installationId: number;
  repository: RepoRef;
  ref: string;
  refType: "branch" | "tag";
  /** The branch or tag name, without refs/heads/ or refs/tags/. */
  refName: string;
  before: string;
  /** The commit to build; null when the push deleted the ref. */
  commit: string | null;
  created: boolean;
  forced: boolean;
  headCommit: { id: string; message: string; author: { name: string; email: string | null } } | null;
  sender: { login: string; id: number };
}

export interface PullRequestEvent {
  type: "pull_request";
  action: "opened" | "synchronize" | "reopened" | "closed";
  installationId: number;
  /** The base repository (where the pull request lives). */
  repository: RepoRef;
  number: number;
  title: string;
  htmlUrl: string;
  draft: boolean;
  merged: boolean;
  head: { sha: string; ref: string; repository: RepoRef | null };
  base: { sha: string; ref: string };
  /** The head lives in another repository (a fork), or its repository is gone. */
  fromFork: boolean;
  sender: { login: string; id: number };
}

export interface InstallationEvent {
  type: "installation";
  action: "created" | "deleted" | "suspend" | "unsuspend";
  installation: { id: number; appId: number; account: { login: string; id: number; type: string }; repositorySelection: "all" | "selected" };
  repositories: RepoLite[];
  sender: { login: string; id: number };
}

export interface InstallationRepositoriesEvent {
  type: "installation_repositories";
  action: "added" | "removed";
  installationId: number;
  repositorySelection: "all" | "selected";
  added: RepoLite[];
  removed: RepoLite[];
  sender: { login: string; id: number };
}

export interface IgnoredEvent {
  type: "ignored";
  event: string;
  action?: string;
  reason: string;
}

export type GitHubEvent = PushEvent | PullRequestEvent | InstallationEvent | InstallationRepositoriesEvent;

const repoRef = (r: z.infer<typeof Repo>): RepoRef => ({
  id: r.id,
  fullName: r.full_name,
  owner: r.owner.login,
  name: r.name,
  private: r.private,
  defaultBranch: r.default_branch,
  cloneUrl: r.clone_url,
  htmlUrl: r.html_url,
});
const lite = (r: { id?: number | undefined; full_name?: string | undefined; private?: boolean | undefined }): RepoLite => ({
  id: r.id ?? 0,
  fullName: r.full_name ?? "",
  ...(r.private === undefined ? {} : { private: r.private }),
});

/** What one parsed payload is; a thrown ZodError means the payload does not fit (the caller wraps it). */
export function toEvent(event: string, payload: unknown): GitHubEvent | IgnoredEvent {
  const action = typeof payload === "object" && payload !== null && "action" in payload && typeof payload.action === "string" ? payload.action : undefined;
  const ignored = (reason: string): IgnoredEvent => ({ type: "ignored", event, ...(action === undefined ? {} : { action }), reason });
  switch (event) {
    case "push": {
      const p = PushPayload.parse(payload);
      if (!p.installation) return ignored("not delivered to the GitHub App (no installation)");
      const m = /^refs\/(heads|tags)\/(.+)$/.exec(p.ref);
      if (!m?.[2]) return ignored(`ref ${p.ref} is neither a branch nor a tag`);
      return {
        type: "push",
        installationId: p.installation.id,
        repository: repoRef(p.repository),
        ref: p.ref,
        refType: m[1] === "heads" ? "branch" : "tag",
        refName: m[2],
        before: p.before,
        // An annotated tag's `after` is the tag object; `head_commit` is the commit it points at.
        commit: p.deleted ? null : m[1] === "tags" && p.head_commit ? p.head_commit.id : p.after,
        created: p.created,
        forced: p.forced,
        headCommit: p.head_commit ? { id: p.head_commit.id, message: p.head_commit.message, author: p.head_commit.author } : null,
        sender: p.sender,
      };
    }
    case "pull_request": {
      if (!["opened", "synchronize", "reopened", "closed"].includes(action ?? "")) return ignored(`pull_request action ${action ?? "(none)"} builds nothing`);
      const p = PullRequestPayload.parse(payload);
      if (!p.installation) return ignored("not delivered to the GitHub App (no installation)");
      const pr = p.pull_request;
      const headRepo = pr.head.repo ? repoRef(pr.head.repo) : null;
      return {
        type: "pull_request",
        action: p.action,
        installationId: p.installation.id,
        repository: repoRef(p.repository),
        number: p.number,
        title: pr.title,
        htmlUrl: pr.html_url,
        draft: pr.draft ?? false,
        merged: pr.merged ?? false,
        head: { sha: pr.head.sha, ref: pr.head.ref, repository: headRepo },
        base: { sha: pr.base.sha, ref: pr.base.ref },
        fromFork: headRepo === null || headRepo.id !== pr.base.repo.id,
        sender: p.sender,
      };
    }
    case "installation": {
      if (!["created", "deleted", "suspend", "unsuspend"].includes(action ?? "")) return ignored(`installation action ${action ?? "(none)"} changes nothing`);
      const p = InstallationPayload.parse(payload);
      const i = p.installation;
      return {
        type: "installation",
        action: p.action,
        installation: { id: i.id, appId: i.app_id, account: i.account, repositorySelection: i.repository_selection },
        repositories: (p.repositories ?? []).map(lite),
        sender: p.sender,
      };
    }
    case "installation_repositories": {
      const p = InstallationRepositoriesPayload.parse(payload);
      return {
        type: "installation_repositories",
        action: p.action,
        installationId: p.installation.id,
        repositorySelection: p.repository_selection,
        added: p.repositories_added.map(lite),
        removed: p.repositories_removed.map(lite),
        sender: p.sender,
      };
    }
    case "ping":
      return ignored("ping: the app's webhook works");
    default:
      return ignored(`event ${event} is not one Sparki consumes`);
  }
}
