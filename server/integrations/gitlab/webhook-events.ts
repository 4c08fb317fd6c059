/**
 * The GitLab webhook events Sparki consumes, as zod schemas of only the fields it uses (names and
 * types as in GitLab's "Webhook events" documentation), and what each becomes: a small typed
 * event, or "ignored" with the reason. Field names follow the GitHub events
 * (server/integrations/github/webhook-events.ts) so one use case can take both.
 *
 * - `Push Hook` / `Tag Push Hook`: a branch or tag; `commit` is null when the ref was deleted
 *   (`after` is 40 zeros). For an annotated tag `after` is the tag object, so the commit to build
 *   is `checkout_sha`.
 * - `Merge Request Hook`: open, reopen, update (only when it pushed code: `oldrev` is set), close,
 *   merge. Approvals and edits of the title or labels start nothing. `fromFork` when the source
 *   project is not the target: such builds get no secrets and no deployments unless the
 *   workspace allows it.
 *
 * Only run on a delivery whose token was checked (webhooks.ts). A payload of a consumed event that
 * does not fit is an error (a thrown ZodError; the caller answers 400), never a half-read event.
 */
import { z } from "zod";

/** What git sends for "no commit": a created ref's `before`, a deleted ref's `after`. */
export const ZERO_SHA = "0".repeat(40);

// SHA-1, or SHA-256 for repositories in GitLab's SHA-256 format.
const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, "a commit SHA");
const Name = z.string().min(1).max(1024);
const Url = z.string().max(2048);
const HookProject = z.object({
  id: z.number().int(),
  path_with_namespace: z.string().min(1).max(2048),
  git_http_url: Url,
  web_url: Url,
  default_branch: z.string().nullable().optional(),
});

export const PushPayload = z.object({
  object_kind: z.enum(["push", "tag_push"]),
  ref: z.string().min(1).max(1024),
  before: Sha,
  after: Sha,
  checkout_sha: Sha.nullable(),
  user_username: z.string().optional(),
  project: HookProject,
});

export const MergeRequestPayload = z.object({
  object_kind: z.literal("merge_request"),
  project: HookProject,
  user: z.object({ username: z.string() }).optional(),
  object_attributes: z.object({
    iid: z.number().int().positive(),
    title: z.string(),
    url: Url,
    action: z.string().optional(),
    state: z.string(),
    source_branch: Name,
    target_branch: Name,
    source_project_id: z.number().int(),
    target_project_id: z.number().int(),
    // Like `project`, without the id (it is source_project_id).
    source: z.object({ path_with_namespace: z.string().max(2048), git_http_url: Url }),
    last_commit: z.object({ id: Sha }),
    oldrev: Sha.optional(),
  }),
});

/** A GitLab project as the events name it. */
export interface ProjectRef {
  id: number;
  pathWithNamespace: string;
  cloneUrl: string;
}

export interface PushEvent {
  type: "push";
  project: ProjectRef & { webUrl: string; defaultBranch: string | null };
  ref: string;
  refType: "branch" | "tag";
  /** The branch or tag name, without refs/heads/ or refs/tags/. */
  refName: string;
  before: string;
  /** The commit to build; null when the push deleted the ref. */
  commit: string | null;
  created: boolean;
  deleted: boolean;
  pusher: string | null;
}

export interface MergeRequestEvent {
  type: "merge_request";
  action: "opened" | "updated" | "reopened" | "closed" | "merged";
  /** The target project (where the merge request lives). */
  project: ProjectRef;
  iid: number;
  title: string;
  url: string;
  head: { sha: string; ref: string; project: ProjectRef };
  base: { ref: string };
  /** The source branch lives in another project (a fork). */
  fromFork: boolean;
}

export interface IgnoredEvent {
  type: "ignored";
  event: string;
  action?: string;
  reason: string;
}

export type GitLabEvent = PushEvent | MergeRequestEvent;

/** The `X-Gitlab-Event` values Sparki reads, and the object_kind each carries. */
export const CONSUMED: Record<string, string> = { "Push Hook": "push", "Tag Push Hook": "tag_push", "Merge Request Hook": "merge_request" };

const MR_ACTIONS = { open: "opened", reopen: "reopened", update: "updated", close: "closed", merge: "merged" } as const;

/** What one parsed payload is; a thrown ZodError means the payload does not fit (the caller wraps it). */
export function toEvent(event: string, payload: unknown): GitLabEvent | IgnoredEvent {
  const kind = CONSUMED[event];
  if (!kind) return { type: "ignored", event, reason: `Sparki does not build on ${event || "an unnamed event"}` };
  // The header and the body must tell the same story.
  z.object({ object_kind: z.literal(kind) }).parse(payload);
  if (kind === "merge_request") {
    const p = MergeRequestPayload.parse(payload);
    const a = p.object_attributes;
    const action = a.action;
    const ignored = (reason: string): IgnoredEvent => ({ type: "ignored", event, ...(action === undefined ? {} : { action }), reason });
    if (action === undefined || !(action in MR_ACTIONS)) return ignored(`merge request action ${action ?? "(none)"} starts nothing`);
    // A title, label, reviewer or draft change is an update too; only new code builds.
    if (action === "update" && a.oldrev === undefined) return ignored("merge request updated without new commits");
    const target: ProjectRef = { id: p.project.id, pathWithNamespace: p.project.path_with_namespace, cloneUrl: p.project.git_http_url };
    const source: ProjectRef = { id: a.source_project_id, pathWithNamespace: a.source.path_with_namespace, cloneUrl: a.source.git_http_url };
    return {
      type: "merge_request",
      action: MR_ACTIONS[action as keyof typeof MR_ACTIONS],
      project: target,
      iid: a.iid,
      title: a.title,
      url: a.url,
      head: { sha: a.last_commit.id, ref: a.source_branch, project: source },
      base: { ref: a.target_branch },
      fromFork: a.source_project_id !== a.target_project_id,
    };
  }
  const p = PushPayload.parse(payload);
  const m = /^refs\/(heads|tags)\/(.+)$/.exec(p.ref);
  if (!m?.[2]) return { type: "ignored", event, reason: `ref ${p.ref} is neither a branch nor a tag` };
  const deleted = /^0+$/.test(p.after);
  return {
    type: "push",
    project: {
      id: p.project.id,
      pathWithNamespace: p.project.path_with_namespace,
      cloneUrl: p.project.git_http_url,
      webUrl: p.project.web_url,
      defaultBranch: p.project.default_branch ?? null,
    },
    ref: p.ref,
    refType: m[1] === "heads" ? "branch" : "tag",
    refName: m[2],
    before: p.before,
    commit: deleted ? null : (p.checkout_sha ?? p.after),
    created: /^0+$/.test(p.before),
    deleted,
    pusher: p.user_username ?? null,
  };
}
