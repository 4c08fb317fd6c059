/**
 * One job from claim to result: log stream and heartbeat up, checkout, the steps in order
 * (or the plan), artifacts, then the result. Every way a job can stop early is one abort
 * with a reason: the build was cancelled, the job's time ran out, the lease was lost, or the
 * runner is shutting down (then the job is handed back instead of reported).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { initialStep, transitionStep, type StepEvent, type StepState } from "../core/build/step.ts";
import type { CompleteRequest, Job, JobResultStatus, StepReport } from "../core/contracts/runner.ts";
import { createMasker } from "../core/log/mask.ts";
import { uploadArtifacts } from "./artifacts.ts";
import { restoreCache, restoreEntry, saveCache, type CacheOptions, type CachePlan } from "./cache.ts";
import { retry, type BackoffOptions } from "./backoff.ts";
import { isLeaseLost, transientRetry, type ControlPlaneClient } from "./client.ts";
import { CheckoutError, checkout, must } from "./git.ts";
import { cacheEnvironmentOf } from "./cache-key.ts";
import { installShareOf } from "./install-share.ts";
import { checkoutFromMirror } from "./mirror.ts";
import type { BuildWorkspace, Workspaces } from "./workspace.ts";
import { LogStream } from "./logs.ts";
import { neededArtifactsDir, receiveNeeded } from "./needs.ts";
import { discoveryDir, foundAfterBuild, outputSnapshot } from "./output-discovery.ts";
import { planBuild } from "./plan.ts";
import { stepHome, type Sandbox } from "../node/sandbox.ts";
import { stepEnvironment } from "../node/step-env.ts";
import { startHeartbeat } from "./heartbeat.ts";
import { runStep } from "../node/steps.ts";
import { tracingOff, type Tracing } from "../core/tracing/context.ts";
import { runtimeSetup, type RuntimeInstall } from "./runtimes.ts";

/** Why a job stopped before its end. */
export type StopReason = "cancel" | "timeout" | "lease_lost" | "shutdown";

export interface JobContext {
  /** The job's own client (ControlPlaneClient.forJob): every call carries the job token. */
  client: ControlPlaneClient;
  job: Job;
  workDir: string;
  say: (message: string) => void;
  /** Aborted when the agent gives up waiting for its jobs on shutdown: hand this one back. */
  handBack: AbortSignal;
  killGraceMs?: number;
  logBackoff?: BackoffOptions;
  /** How long the end of a job waits for the server to acknowledge the last lines. */
  logDrainMs?: number;
  /** Keep the checkout after the job (debugging). */
  keepWorkspace?: boolean;
  /** Run steps under bwrap (node/sandbox.ts); absent with --no-sandbox. */
  sandbox?: Sandbox;
  /** Spans for the job and its steps, under the job's traceparent; absent: none are recorded. */
  tracing?: Tracing;
  /** The runtimes this runner found at start (runner/runtimes.ts): a job's `runtime` picks one. */
  runtimes?: readonly RuntimeInstall[];
  /** Build folders kept between jobs of a build (runner/workspace.ts); absent: a fresh folder per job. */
  workspaces?: Workspaces;
  /** Where repository mirrors live (runner/mirror.ts); absent: every job clones from the remote. */
  mirrors?: string;
}

/** How the job left this runner. */
export type JobEnd = { kind: "completed"; status: JobResultStatus } | { kind: "released" } | { kind: "lease_lost" };

const secondsOf = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The environment a step sees (node/step-env.ts, shared with `sparki run`). */
function stepEnv(
  job: Job,
  stepId: string,
  stepVars: Record<string, string>,
  sandboxDir: string | null,
  traceparent: string | null,
  pathFirst: string | null = null,
): NodeJS.ProcessEnv {
  return stepEnvironment({
    sandboxDir,
    buildId: job.buildId,
    jobId: job.jobId,
    stepId,
    commitSha: job.repo.commitSha ?? "",
    branch: job.repo.branch,
    jobEnv: job.env,
    stepEnv: stepVars,
    secrets: Object.fromEntries(job.secrets.map((s) => [s.name, s.value])),
    traceparent,
    pathFirst,
  });
}

/** Runs a claimed job to its end; never throws for the job's own failures. */
export async function runJob(ctx: JobContext): Promise<JobEnd> {
  const { client, job, say } = ctx;
  const tracing = ctx.tracing ?? tracingOff;
  const jobSpan = tracing.start(job.kind === "plan" ? "job plan" : "job", {
    parent: job.traceparent,
    kind: "consumer",
    attributes: { "sparki.build_id": job.buildId, "sparki.job_id": job.jobId, "sparki.job_kind": job.kind },
  });
  const lease = { leaseId: job.leaseId, fencingToken: job.fencingToken };
  const stop = new AbortController();
  let reason: StopReason | null = null;
  const halt = (why: StopReason) => {
    if (reason) return;
    reason = why;
    say(`job ${job.jobId}: stopping (${why})`);
    stop.abort(why);
  };
  const onHandBack = () => halt("shutdown");
  ctx.handBack.addEventListener("abort", onHandBack, { once: true });
  if (ctx.handBack.aborted) halt("shutdown");
  const deadline = setTimeout(() => halt("timeout"), job.timeoutSeconds * 1000);

  const logs = new LogStream({
    url: client.logSocketUrl(job.jobId),
    headers: client.headers(lease),
    // The clone token too: git may print it back, e.g. in an error about the remote.
    masker: createMasker([...job.secrets.map((s) => s.value), ...(job.cloneCredential ? [job.cloneCredential.password] : [])]),
    onCancel: () => halt("cancel"),
    say: (m) => say(`job ${job.jobId}: ${m}`),
    ...(ctx.logBackoff ? { backoff: ctx.logBackoff } : {}),
  });
  logs.start();
  const heartbeat = startHeartbeat({ client, job, say, onCancel: () => halt("cancel"), onLeaseLost: () => halt("lease_lost") });

  const steps = new Map<string, StepState>(job.steps.map((s) => [s.id, initialStep()]));
  const apply = (id: string, event: StepEvent): StepState | null => {
    const next = transitionStep(steps.get(id) ?? initialStep(), event);
    if (!next.ok) return null;
    steps.set(id, next.state);
    return next.state;
  };
  const sendReport = async (id: string, state: StepState) => {
    try {
      await retry(
        () =>
          client.updateStep(job.jobId, id, {
            ...lease,
            status: state.status as StepReport["status"],
            exitCode: state.exitCode,
            startedAt: iso(state.startedAt),
            finishedAt: iso(state.finishedAt),
          }),
        transientRetry(3, stop.signal),
      );
    } catch (err) {
      // Step updates only feed the live view; the final result carries every step anyway.
      if (isLeaseLost(err)) halt("lease_lost");
    }
  };
  // Step updates go one after another (the server keeps the last one it got per step), but no
  // step waits for one: a round trip to the API is not part of any step's time. The result is
  // sent only once they are all through, so it is never followed by an older update.
  let reports = Promise.resolve();
  const report = (id: string, state: StepState) => {
    if (state.status === "pending") return;
    reports = reports.then(() => sendReport(id, state));
  };

  let status: JobResultStatus = "succeeded";
  let exitCode: number | null = 0;
  let error: string | undefined;
  await mkdir(ctx.workDir, { recursive: true });
  // The build's folder when no other job of the build holds it, else one of the job's own.
  const ws: BuildWorkspace | null = ctx.workspaces ? await ctx.workspaces.acquire({ buildId: job.buildId, url: job.repo.url, scope: job.checkoutScope }) : null;
  const dir = ws ? ws.dir : await mkdtemp(join(ctx.workDir, "job-"));
  const started = performance.now();
  let commitSha = job.repo.commitSha ?? "";
  /** Output folders present before the build step, when the job asks for its output to be found. */
  let outputsBefore: Set<string> | null = null;
  try {
    const checkoutLog = logs.sink("sparki:checkout");
    const checkoutSpan = tracing.start("checkout", { parent: jobSpan.traceparent, attributes: { "vcs.ref.head.name": job.repo.branch } });
    try {
      const options = {
        signal: stop.signal,
        output: checkoutLog,
        requireOnBranch: job.kind === "plan",
        ...(job.cloneCredential ? { credential: job.cloneCredential } : {}),
      };
      let reuse = ws !== null && job.kind === "steps" && ws.state.commit !== null && ws.state.commit === job.repo.commitSha;
      if (ws && reuse) {
        // Files an earlier job changed go back to the commit's; what it added (the install) stays.
        // A folder git no longer accepts (an earlier job broke .git) is replaced, not fatal.
        reuse = await must(["checkout", "--quiet", "--force", "--detach", ws.state.commit as string], join(dir, "src"), options).then(
          () => true,
          () => false,
        );
        if (reuse) checkoutLog.note(`sparki: reusing this build's checkout of ${commitSha.slice(0, 12)} from an earlier job on this runner`);
      }
      if (!reuse) {
        await ws?.reset();
        commitSha =
          ctx.mirrors && job.checkoutScope
            ? await checkoutFromMirror(job.repo, join(dir, "src"), { ...options, root: ctx.mirrors, scope: job.checkoutScope })
            : await checkout(job.repo, join(dir, "src"), options);
        await ws?.save({ commit: commitSha, installed: null });
      }
      say(`job ${job.jobId}: checked out ${commitSha.slice(0, 12)} in ${secondsOf(performance.now() - started)}${reuse ? " (reused)" : ""}`);
    } catch (err) {
      if (stop.signal.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      checkoutLog.note(`sparki: checkout failed: ${message}`);
      status = "failed";
      exitCode = err instanceof CheckoutError ? Math.min(255, Math.max(0, err.exitCode)) : null;
      error = `checkout failed: ${message}`;
      checkoutSpan.fail(error);
    } finally {
      checkoutSpan.set({ "vcs.ref.head.revision": commitSha });
      checkoutSpan.end();
    }
    const src = join(dir, "src");
    // The runtime version the job needs, first on its steps' PATH (runner/runtimes.ts).
    const runtime = runtimeSetup(job, ctx.runtimes ?? [], logs.sink("sparki:runner"));
    if (status === "succeeded" && runtime.error) [status, exitCode, error] = ["failed", null, runtime.error];
    if (status === "succeeded" && job.kind === "plan") {
      const planned = await planBuild(client, job, src, commitSha, logs.sink("sparki:plan"), stop.signal);
      if (!planned.ok) [status, exitCode, error] = ["failed", 1, planned.error];
    } else if (status === "succeeded") {
      // recursive: a build folder kept from an earlier job has it already.
      if (ctx.sandbox) await mkdir(stepHome(dir), { recursive: true });
      const needs = await receiveNeeded({
        client,
        job,
        dir: neededArtifactsDir(dir),
        signal: stop.signal,
        output: logs.sink("sparki:artifacts"),
        scratch: ctx.workDir,
      });
      if (!needs.ok) [status, exitCode, error] = ["failed", null, needs.error];
      // `~` in a cache path is the home the steps see: the job's own when sandboxed.
      const home = ctx.sandbox ? stepHome(dir) : (process.env.HOME ?? homedir());
      const caching: CacheOptions = {
        client,
        job,
        roots: { home, src },
        output: logs.sink("sparki:cache"),
        signal: stop.signal,
        scratch: ctx.workDir,
        // Once per job, asked of the runtime the steps run with (its own first on PATH).
        environment: await cacheEnvironmentOf(job.cache?.runtime, runtime.env),
      };
      const share = await installShareOf(job, caching.output, caching.environment);
      let skipInstall = false;
      if (share && ws?.state.installed === share.key) {
        caching.output.note("sparki: install skipped: this build's install already ran in this folder on this runner");
        skipInstall = true;
      } else if (share && (!share.installJob || share.anyBuild)) {
        const restored = await restoreEntry(caching, share.key, [], share.paths, "install");
        // Not with an entry left out: an install missing a part is worse than installing again.
        if (restored.exact && restored.complete) {
          caching.output.note(
            share.anyBuild
              ? "sparki: install skipped: restored the install of this lockfile, install command and platform"
              : "sparki: install skipped: restored the result of this build's install job",
          );
          await ws?.save({ ...ws.state, installed: share.key });
          skipInstall = true;
        }
      }
      // The dependency cache only feeds an install: none runs, nothing to restore or save.
      const cachePlan: CachePlan | null = skipInstall ? null : await restoreCache(caching);
      const findIn = discoveryDir(job);
      const buildStep = job.steps.find((s) => s.name === "build") ?? job.steps[0];
      for (const step of job.steps) {
        if (stop.signal.aborted || status !== "succeeded") break;
        if (findIn !== null && step === buildStep) outputsBefore = await outputSnapshot(src, findIn);
        if (skipInstall && step.id === share?.stepId) {
          const skipped = apply(step.id, { type: "skip", at: Date.now() });
          if (skipped) report(step.id, skipped);
          continue;
        }
        const running = apply(step.id, { type: "start", at: Date.now() });
        if (running) report(step.id, running);
        const stepSpan = tracing.start(`step ${step.name}`, { parent: jobSpan.traceparent, attributes: { "sparki.step_id": step.id } });
        const outcome = await runStep({
          command: step.command,
          cwd: src,
          env: stepEnv(
            job,
            step.id,
            { ...step.env, SPARKI_ARTIFACTS_DIR: neededArtifactsDir(dir) },
            ctx.sandbox ? dir : null,
            stepSpan.traceparent,
            runtime.pathFirst,
          ),
          timeoutMs: step.timeoutSeconds * 1000,
          signal: stop.signal,
          output: logs.sink(step.id),
          ...(ctx.sandbox ? { sandbox: { sandbox: ctx.sandbox, jobDir: dir, readOnly: runtime.readOnly } } : {}),
          ...(ctx.killGraceMs !== undefined ? { killGraceMs: ctx.killGraceMs } : {}),
        });
        const at = Date.now();
        stepSpan.set({ "sparki.step_outcome": outcome.kind, ...(outcome.kind === "exited" ? { "process.exit.code": outcome.exitCode } : {}) });
        if (outcome.kind !== "exited" || outcome.exitCode !== 0) stepSpan.fail(outcome.kind === "exited" ? `exited ${outcome.exitCode}` : outcome.kind);
        stepSpan.end();
        if (outcome.kind === "exited") {
          say(`job ${job.jobId}: step ${step.id} exited ${outcome.exitCode} in ${secondsOf(outcome.durationMs)}`);
          const done = apply(step.id, { type: "exit", at, exitCode: outcome.exitCode });
          if (done) report(step.id, done);
          if (outcome.exitCode !== 0) [status, exitCode] = ["failed", outcome.exitCode];
          else if (share && step.id === share.stepId && ws) await ws.save({ ...ws.state, installed: share.key });
        } else if (outcome.kind === "timed_out") {
          say(`job ${job.jobId}: step ${step.id} timed out after ${secondsOf(outcome.durationMs)}`);
          logs.sink(step.id).note(`sparki: step timed out after ${step.timeoutSeconds} s`);
          const done = apply(step.id, { type: "time_out", at });
          if (done) report(step.id, done);
          [status, exitCode] = ["timed_out", null];
        } else {
          say(`job ${job.jobId}: step ${step.id} stopped after ${secondsOf(outcome.durationMs)}`);
          const done = apply(step.id, reason === "timeout" ? { type: "time_out", at } : { type: "cancel", at });
          if (done) report(step.id, done);
        }
      }
      if (cachePlan && status === "succeeded" && !stop.signal.aborted) await saveCache(caching, cachePlan);
      // For the build's jobs that run on other runners (or beside this one, in folders of their own).
      if (share?.installJob && !skipInstall && status === "succeeded" && !stop.signal.aborted)
        await saveCache(caching, { key: share.key, paths: share.paths, exact: false, writeScope: cachePlan?.writeScope ?? null }, "install");
    }
    if (!stop.signal.aborted && job.kind === "steps" && job.artifacts.length > 0 && status !== "timed_out") {
      const sent = await uploadArtifacts({
        client,
        job,
        dir: src,
        signal: stop.signal,
        output: logs.sink("sparki:artifacts"),
        requireAll: status === "succeeded",
      });
      if (sent.problems.length > 0 && status === "succeeded") [status, exitCode, error] = ["failed", null, sent.problems.join("; ")];
    }
    const findIn = discoveryDir(job);
    if (!stop.signal.aborted && findIn !== null && outputsBefore !== null && status === "succeeded") {
      const output = logs.sink("sparki:artifacts");
      const found = await foundAfterBuild(src, findIn, outputsBefore);
      if (found) {
        output.note(`sparki: no output directory declared; ${found.path}/ found after the build, kept as the build's output`);
        const sent = await uploadArtifacts({ client, job: { ...job, artifacts: [found] }, dir: src, signal: stop.signal, output, requireAll: true });
        if (sent.problems.length > 0) [status, exitCode, error] = ["failed", null, sent.problems.join("; ")];
      } else output.note("sparki: no output directory declared, and the build created none of the usual ones");
    }
  } catch (err) {
    if (!stop.signal.aborted) {
      // A bug or an environment failure (disk full): the job fails rather than the runner.
      status = "failed";
      exitCode = null;
      error = `runner error: ${err instanceof Error ? err.message : String(err)}`;
      logs.sink("sparki:runner").note(`sparki: ${error}`);
    }
  } finally {
    clearTimeout(deadline);
    ctx.handBack.removeEventListener("abort", onHandBack);
  }

  // A lost lease that a step update found must still decide how the job ends.
  await reports;
  const stoppedBy: StopReason | null = reason;
  if (stoppedBy === "cancel") [status, exitCode] = ["cancelled", null];
  if (stoppedBy === "timeout") [status, exitCode] = ["timed_out", null];
  const at = Date.now();
  for (const [id, state] of steps) {
    if (state.status !== "pending") continue;
    apply(id, stoppedBy === "cancel" || stoppedBy === "shutdown" ? { type: "cancel", at } : { type: "skip", at });
  }

  const end = await finish(ctx, logs, stoppedBy, {
    ...lease,
    status,
    exitCode,
    steps: [...steps].map(([id, s]) => toReport(id, s)),
    ...(error ? { error } : {}),
  });
  await heartbeat.stop();
  jobSpan.set({ "sparki.job_end": end.kind, ...(end.kind === "completed" ? { "sparki.job_status": end.status } : {}) });
  if (end.kind !== "completed" || end.status !== "succeeded") jobSpan.fail(end.kind === "completed" ? end.status : end.kind);
  jobSpan.end();
  if (ws) {
    ws.release();
    await ctx.workspaces?.prune().catch(() => undefined);
  } else if (!ctx.keepWorkspace) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  say(
    `job ${job.jobId}: ${end.kind === "completed" ? `finished ${end.status} in ${secondsOf(performance.now() - started)}` : end.kind === "released" ? "handed back" : "lease lost, result dropped"}`,
  );
  return end;
}

function toReport(id: string, s: StepState): StepReport {
  // A step still pending here never ran: report it skipped.
  const status = s.status === "pending" ? "skipped" : s.status;
  return { id, status, exitCode: s.exitCode, startedAt: iso(s.startedAt), finishedAt: iso(s.finishedAt) };
}

/** Drains the log, then reports the result or hands the job back. */
async function finish(ctx: JobContext, logs: LogStream, reason: StopReason | null, result: CompleteRequest): Promise<JobEnd> {
  const { client, job } = ctx;
  if (reason === "lease_lost") {
    await logs.close(0);
    return { kind: "lease_lost" };
  }
  const drained = await logs.close(ctx.logDrainMs ?? 60_000);
  if (!drained && !logs.leaseLost) ctx.say(`job ${job.jobId}: some log lines were not acknowledged before the result`);
  if (logs.leaseLost) return { kind: "lease_lost" };
  const lease = { leaseId: job.leaseId, fencingToken: job.fencingToken };
  try {
    if (reason === "shutdown") {
      await retry(() => client.release(job.jobId, { ...lease, reason: "shutdown" }), transientRetry(3));
      return { kind: "released" };
    }
    // The result matters most: keep trying through a control-plane outage of a few minutes.
    await retry(() => client.complete(job.jobId, result), transientRetry(12));
    return { kind: "completed", status: result.status };
  } catch (err) {
    if (isLeaseLost(err)) return { kind: "lease_lost" };
    ctx.say(`job ${job.jobId}: could not report the result: ${err instanceof Error ? err.message : String(err)}`);
    return reason === "shutdown" ? { kind: "released" } : { kind: "lease_lost" };
  }
}
