/**
 * Commit statuses for the GitLab fake (test/fakes/gitlab.ts), by GitLab's rules
 * (app/services/ci/create_commit_status_service.rb and the CommitStatus state machine): the
 * status a POST updates is the caller's pending or running one of that name on that ref and
 * commit; otherwise a new one starts as `created` and replaces older ones of the name (shown
 * only with `all=true`). `pending` enqueues, `running` enqueues if it can and then runs, the
 * rest finish it. An event the state machine refuses (pending twice, running twice, running →
 * pending) is a 400 with GitLab's message.
 */
import { branchesContaining, fullSha, hasCommit } from "./gitlab-git.ts";

export interface FakeStatus {
  id: number;
  sha: string;
  ref: string;
  status: "created" | "pending" | "running" | "success" | "failed" | "canceled" | "skipped";
  name: string;
  target_url: string | null;
  description: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  authorId: number;
  /** Replaced by a newer status of the same name (hidden unless `all=true`). */
  retried: boolean;
}

type Send = (status: number, payload: unknown) => void;
const STATES = ["pending", "running", "success", "failed", "canceled", "skipped"];

/** The GitLab API's view of a status. */
export function statusView(s: FakeStatus, author: { id: number; username: string; name: string } | undefined): Record<string, unknown> {
  return {
    id: s.id,
    sha: s.sha,
    ref: s.ref,
    status: s.status,
    name: s.name,
    target_url: s.target_url,
    description: s.description,
    created_at: s.created_at,
    started_at: s.started_at,
    finished_at: s.finished_at,
    allow_failure: false,
    coverage: null,
    author: author ? { id: author.id, username: author.username, name: author.name, state: "active" } : null,
  };
}

/** The state a status moves to, or the state-machine event GitLab refuses. */
export function transition(from: FakeStatus["status"], state: string): { next: FakeStatus["status"] } | { refused: string } {
  switch (state) {
    case "pending":
      return from === "created" ? { next: "pending" } : { refused: "enqueue" };
    case "running":
      // `enqueue` (quietly, when it can) then `run!`, which only leaves pending.
      return from === "created" || from === "pending" ? { next: "running" } : { refused: "run" };
    case "skipped":
      return from === "running" ? { refused: "skip" } : { next: "skipped" };
    default:
      // success, failed, canceled: allowed from created, pending and running, the only states found.
      return { next: state as FakeStatus["status"] };
  }
}

/** `POST /projects/:id/statuses/:sha` for a caller already allowed to write (Developer or more). */
export async function postStatus(
  project: { gitDir: string; statuses: FakeStatus[] },
  author: { id: number; username: string; name: string },
  shaParam: string,
  params: Record<string, unknown>,
  nextId: () => number,
  send: Send,
): Promise<void> {
  const str = (k: string): string | null => (typeof params[k] === "string" && params[k] !== "" ? (params[k] as string) : null);
  const state = params.state;
  if (state === undefined || state === "") return send(400, { error: "state is missing" });
  if (typeof state !== "string" || !STATES.includes(state)) return send(400, { error: "state does not have a valid value" });
  if (!(await hasCommit(project.gitDir, shaParam))) return send(404, { message: "404 Commit Not Found" });
  const sha = await fullSha(project.gitDir, shaParam);
  const ref = str("ref") ?? (await branchesContaining(project.gitDir, sha))[0];
  if (!ref) return send(404, { message: "404 References for commit Not Found" });
  const name = str("name") ?? str("context") ?? "default";
  const targetUrl = str("target_url");
  if (targetUrl !== null && !/^https?:\/\/\S+$/.test(targetUrl))
    return send(400, { message: { target_url: ["is blocked: Only allowed schemes are http, https"] } });

  const existing = project.statuses.find(
    (s) => s.sha === sha && s.ref === ref && s.name === name && s.authorId === author.id && !s.retried && (s.status === "pending" || s.status === "running"),
  );
  const now = new Date().toISOString();
  const s: FakeStatus = existing ?? {
    id: nextId(),
    sha,
    ref,
    status: "created",
    name,
    target_url: null,
    description: null,
    created_at: now,
    started_at: null,
    finished_at: null,
    authorId: author.id,
    retried: false,
  };
  const t = transition(s.status, state);
  if ("refused" in t)
    return send(400, { message: `Cannot transition status via :${t.refused} from :${s.status} (Reason(s): Status cannot transition via "${t.refused}")` });
  if (!existing) {
    for (const old of project.statuses) if (old.sha === sha && old.ref === ref && old.name === name) old.retried = true;
    project.statuses.push(s);
  }
  s.status = t.next;
  if (t.next === "running") s.started_at = now;
  if (t.next === "success" || t.next === "failed" || t.next === "canceled") s.finished_at = now;
  if (targetUrl !== null) s.target_url = targetUrl;
  if (typeof params.description === "string") s.description = params.description;
  send(201, statusView(s, author));
}
