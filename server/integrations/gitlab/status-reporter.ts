/**
 * A build's state as a GitLab commit status named "sparki", linking to the build page. The queue
 * consumer calls {@link reportCommitStatus} for every build event of a linked project; it never
 * throws, because GitLab being down, a revoked token or a deleted project must never fail or hold
 * up a build: the outcome is only logged.
 *
 * The state sent is the build's state NOW (read from Postgres by the caller), not the event's:
 * queue messages may arrive late or out of order, and a late `pending` must not undo a `success`.
 * GitLab refuses `pending`/`running` twice ("Cannot transition status"), which after a retry or a
 * repeated event means the status is already there: that is reported as done.
 */
import { type CommitState, GitLabClient, isRefusedTransition } from "./api.ts";
import type { GitLabTransport } from "./http.ts";

export const STATUS_NAME = "sparki";

/** A Sparki build status as GitLab's commit state. */
export function commitStateOf(buildStatus: string): CommitState | null {
  switch (buildStatus) {
    case "queued":
      return "pending";
    case "running":
      return "running";
    case "succeeded":
      return "success";
    case "failed":
    case "timed_out":
      return "failed";
    case "cancelled":
      return "canceled";
    default:
      return null;
  }
}

export interface StatusReport {
  gitlabProjectId: number;
  accessToken: string;
  sha: string;
  /** The branch the build ran for. */
  ref: string | null;
  buildStatus: string;
  buildNumber: number | null;
  /** The build page; left out when the instance has no public URL. */
  targetUrl: string | null;
}

export type ReportOutcome =
  | { ok: true; state: CommitState; already: boolean }
  | { ok: false; reason: "unknown_status" }
  | { ok: false; reason: "gitlab"; status: number; retryable: boolean; message: string };

const describe: Record<CommitState, string> = {
  pending: "queued",
  running: "running",
  success: "succeeded",
  failed: "failed",
  canceled: "cancelled",
  skipped: "skipped",
};

/** Posts the status; never throws (see the module header). */
export async function reportCommitStatus(report: StatusReport, transport: GitLabTransport): Promise<ReportOutcome> {
  const state = commitStateOf(report.buildStatus);
  if (state === null) return { ok: false, reason: "unknown_status" };
  const client = new GitLabClient(report.accessToken, transport);
  const description =
    report.buildStatus === "timed_out"
      ? "Sparki build timed out"
      : `Sparki build${report.buildNumber === null ? "" : ` #${report.buildNumber}`} ${describe[state]}`;
  try {
    await client.setCommitStatus(report.gitlabProjectId, report.sha, {
      state,
      name: STATUS_NAME,
      description,
      ...(report.ref ? { ref: report.ref } : {}),
      ...(report.targetUrl ? { target_url: report.targetUrl } : {}),
    });
    return { ok: true, state, already: false };
  } catch (err) {
    if (isRefusedTransition(err)) return { ok: true, state, already: true };
    const status = typeof err === "object" && err !== null && "status" in err && typeof err.status === "number" ? err.status : 0;
    const retryable = status === 0 || status === 408 || status === 429 || status >= 500;
    return { ok: false, reason: "gitlab", status, retryable, message: err instanceof Error ? err.message.slice(0, 300) : String(err) };
  }
}
