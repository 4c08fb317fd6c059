/**
 * What a build's check run on GitHub says, from the build's state: pure, so the words are tested
 * without GitHub. `queued` → `in_progress` → `completed` with a conclusion; a failed build names
 * the job and step that failed and shows the last lines of that job's log (already masked by the
 * coordinator), fenced so nothing in them is read as Markdown.
 */
import type { CheckRunFields } from "./api.ts";

/** The check run's name on the commit (one per build of a project, all named alike). */
export const CHECK_NAME = "sparki";
/** Lines of the failed job's log shown in the summary. */
export const TAIL_LINES = 30;
const LINE_CHARS = 500;

export type CheckPhase = "queued" | "in_progress" | "completed";
const RANK: Record<CheckPhase, number> = { queued: 1, in_progress: 2, completed: 3 };

/** Whether `next` is further along than what GitHub was last told. */
export function isAhead(next: CheckPhase, reported: string | null): boolean {
  return RANK[next] > (reported ? (RANK[reported as CheckPhase] ?? 0) : 0);
}

/** Where a failed build failed. */
export interface Failure {
  job: string;
  step: string | null;
  exitCode: number | null;
  lines: string[];
}

export interface BuildFacts {
  status: string;
  number: number | null;
  error: string | null;
  failure: Failure | null;
}

const CONCLUSION: Record<string, NonNullable<CheckRunFields["conclusion"]>> = {
  succeeded: "success",
  failed: "failure",
  cancelled: "cancelled",
  timed_out: "timed_out",
};

/** The phase a build's status puts its check run in. */
export function phaseOf(status: string): CheckPhase {
  if (status === "queued") return "queued";
  return CONCLUSION[status] ? "completed" : "in_progress";
}

/** The fields to send for the build's current state (without name and head_sha). */
export function checkRunFields(build: BuildFacts, detailsUrl: string | null, now = new Date()): CheckRunFields {
  const phase = phaseOf(build.status);
  const n = build.number === null ? "" : ` #${build.number}`;
  const link = detailsUrl ? { details_url: detailsUrl } : {};
  if (phase === "queued") return { ...link, status: "queued", output: { title: `Build${n} queued`, summary: "Waiting for a runner." } };
  if (phase === "in_progress")
    return { ...link, status: "in_progress", output: { title: `Build${n} running`, summary: "A runner is working on it; the build page shows the live log." } };
  const conclusion = CONCLUSION[build.status] ?? "failure";
  return { ...link, status: "completed", conclusion, completed_at: now.toISOString(), output: completedOutput(build, n) };
}

function completedOutput(build: BuildFacts, n: string): { title: string; summary: string } {
  if (build.status === "succeeded") return { title: `Build${n} succeeded`, summary: "Every job succeeded." };
  const f = build.failure;
  const verb = build.status === "timed_out" ? "timed out" : build.status;
  if (build.status === "cancelled") return { title: `Build${n} cancelled`, summary: build.error ?? "The build was cancelled." };
  if (!f) return { title: `Build${n} ${verb}`, summary: build.error ?? `The build ${verb}.` };
  const where = f.step ? `step ${f.step} of job ${f.job}` : `job ${f.job}`;
  const code = f.exitCode === null ? "" : ` with exit code ${f.exitCode}`;
  const parts = [`**${escapeMarkdown(where)}** ${verb}${code}.`];
  if (build.error) parts.push(escapeMarkdown(build.error));
  if (f.lines.length > 0) parts.push(`The last ${f.lines.length} lines of its log:`, fence(f.lines));
  return { title: `Build${n} ${verb}: ${f.step ?? f.job}`.slice(0, 200), summary: parts.join("\n\n") };
}

/** The lines in a code fence longer than any run of backticks inside them. */
function fence(lines: string[]): string {
  const body = lines.map((l) => (l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS)}…` : l)).join("\n");
  const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const f = "`".repeat(longest + 1);
  return `${f}text\n${body}\n${f}`;
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>#|]/g, (c) => `\\${c}`);
}

/** The last `count` lines of a log's text (a trailing newline ends the last line, it does not add one). */
export function tailLines(text: string, count = TAIL_LINES): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.slice(-count);
}
