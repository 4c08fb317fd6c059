/**
 * The queue consumer's GitHub step: after a build event, the build's check run
 * (server/use-cases/report-github-check.ts); after `deployment.changed`, the deployment's GitHub
 * deployments and statuses (report-github-deployments.ts). Only when the GitHub App is configured
 * and the project is linked.
 *
 * Nothing here fails the message or the build. A failure worth another try (GitHub unreachable,
 * 5xx, a rate limit, Postgres down, or another reporter creating the same check run right now)
 * is sent again as `github.report` with a growing delay, at most {@link MAX_ATTEMPTS} times;
 * anything else is logged and dropped (the next event of the build reports its state again).
 */
import { BUILD_FINISHED } from "../core/build/index.ts";
import type { SparkiEvent } from "../core/contracts/events.js";
import { SparkiError } from "../core/errors.js";
import { configOf, type Bindings } from "../server/config.js";
import { connect } from "../server/db/client.js";
import { type Failure, tailLines } from "../server/integrations/github/check-run.ts";
import { GitHubApiError } from "../server/integrations/github/http.ts";
import { buildCoordinator } from "../server/objects/clients.js";
import { type GitHubReportDeps, reportGitHubCheck } from "../server/use-cases/report-github-check.js";
import { reportGitHubDeployments } from "../server/use-cases/report-github-deployments.js";
import { describeError, type Logger } from "./log.js";

export const MAX_ATTEMPTS = 5;
/** One report's time in the consumer, GitHub's retries included. */
const REPORT_TIMEOUT_MS = 10_000;
/** At most this much of a failed job's log is read for its last lines. */
const TAIL_BYTES = 64 * 1024;

export type GitHubTarget = { buildId: string } | { releaseId: string };

/** Reports `target` to GitHub; never throws. `attempt` counts the `github.report` retries so far. */
export async function reportToGitHub(env: Bindings, target: GitHubTarget, log: Logger, attempt = 0): Promise<void> {
  const config = configOf(env);
  if (!config.GITHUB_APP_ID || !config.GITHUB_APP_PRIVATE_KEY) return;
  const what = "buildId" in target ? `build ${target.buildId}` : `deployment ${target.releaseId}`;
  let again = false;
  try {
    const { db, close } = await connect(config.DATABASE_URL, config.NEON_WS_PROXY);
    try {
      const deps: GitHubReportDeps = {
        db,
        app: { appId: config.GITHUB_APP_ID, privateKey: config.GITHUB_APP_PRIVATE_KEY },
        // Bounded: the queue brings a slow report back later instead of holding the batch.
        transport: { apiUrl: config.GITHUB_API_URL, signal: AbortSignal.timeout(REPORT_TIMEOUT_MS) },
        publicUrl: config.PUBLIC_URL,
        sitesOrigin: config.SITES_ORIGIN,
        failureOf: (buildId) => failureOf(env, buildId),
      };
      if ("buildId" in target) {
        const result = await reportGitHubCheck(deps, target.buildId);
        if ("busy" in result) again = true;
        else if ("checkRunId" in result) log.info(`GitHub check run ${result.checkRunId} ${result.phase} for ${what}`, { build_id: target.buildId });
      } else {
        const results = await reportGitHubDeployments(deps, target.releaseId);
        again = results.some((r) => "busy" in r);
        for (const r of results) if ("state" in r) log.info(`GitHub deployment ${r.githubDeploymentId} ${r.state} for stage ${r.stage} of ${what}`);
      }
    } finally {
      await close();
    }
  } catch (err) {
    again =
      (err instanceof GitHubApiError && err.retryable) ||
      (err instanceof SparkiError && err.code === "database_unavailable") ||
      (err instanceof Error && err.name === "TimeoutError");
    log.warn(`GitHub report for ${what} failed${again && attempt < MAX_ATTEMPTS ? "; will retry" : ""}`, { ...describeError(err) });
  }
  if (!again || attempt >= MAX_ATTEMPTS) return;
  const retry: SparkiEvent = { type: "github.report", ...target, attempt: attempt + 1, correlationId: "github-report", occurredAt: new Date().toISOString() };
  await env.EVENTS.send(retry, { delaySeconds: Math.min(300, 5 * 2 ** attempt) }).catch((err: unknown) => {
    log.warn(`GitHub report for ${what} could not be queued again`, describeError(err));
  });
}

/** The job and step a finished build failed in, and the last lines of that job's log (masked by the coordinator). */
async function failureOf(env: Bindings, buildId: string): Promise<Failure | null> {
  const coordinator = buildCoordinator(env, buildId);
  const view = await coordinator.view();
  if (!view || !BUILD_FINISHED.has(view.status as never)) return null;
  const job = view.jobs.find((j) => j.status === "failed" || j.status === "timed_out") ?? view.jobs.find((j) => j.status !== "succeeded");
  if (!job) return null;
  const step = job.steps.find((s) => s.status === "failed" || s.status === "timed_out");
  const res = await coordinator.fetch(`https://coordinator/logs.txt?job=${encodeURIComponent(job.id)}`);
  return { job: job.name, step: step?.name ?? null, exitCode: step?.exitCode ?? job.exitCode, lines: tailLines(await tailOf(res, TAIL_BYTES)) };
}

/** The last `max` bytes of a body as text (a long log is streamed through, never held whole). */
async function tailOf(res: Response, max: number): Promise<string> {
  if (!res.ok || !res.body) return "";
  let tail = new Uint8Array(0);
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const joined = new Uint8Array(tail.length + value.length);
    joined.set(tail);
    joined.set(value, tail.length);
    tail = joined.length > max ? joined.slice(joined.length - max) : joined;
  }
  const text = new TextDecoder().decode(tail);
  // A cut at the front may have split a line: drop its remains.
  return tail.length >= max ? text.slice(text.indexOf("\n") + 1) : text;
}
