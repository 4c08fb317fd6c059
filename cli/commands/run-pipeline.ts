/**
 * What `sparki run` does (cli/commands/run.ts): plans as the plan job does, then runs each job
 * as a runner does: a folder of its own under /var/tmp or $TMPDIR (a path with no dot segment) holding
 * `src/` (the project's files as git sees them: tracked and untracked, not ignored; every file
 * but node_modules and .git outside a repository) and, sandboxed, the steps' `home/`. Jobs run
 * one after another in the pipeline's order; one whose needs did not succeed is skipped.
 * Deploy jobs, caches and artifacts stay with the platform.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { detect } from "../../core/detect/index.ts";
import { createMasker, initialMaskState, maskChunk, maskFlush, maskText, type Masker } from "../../core/log/mask.ts";
import { branchMatches } from "../../core/pipeline/branches.ts";
import { generatePipeline, type Job } from "../../core/pipeline/index.ts";
import { nothingToRunReason } from "../../core/pipeline/nothing-to-run.ts";
import { stepCommand, stepIds } from "../../core/pipeline/step-command.ts";
import type { OutputSink } from "../../node/output-sink.ts";
import { dotSegment, scratchRoot } from "../../node/paths.ts";
import { hiddenPaths, probeSandbox, stepHome, type Sandbox } from "../../node/sandbox.ts";
import { stepEnvironment } from "../../node/step-env.ts";
import { runStep } from "../../node/steps.ts";
import { UserError } from "../../node/user-error.ts";
import { readConfig, treeOf } from "../commands.ts";
import { configPath } from "../config.ts";
import type { RunCommandOptions } from "./run.ts";

const exec = promisify(execFile);

/** What one job came to. */
type JobOutcome = { status: "succeeded" | "failed" | "timed_out" | "cancelled" | "skipped"; exitCode: number | null; note?: string; ms: number };

export async function runPipeline(dir: string, opts: RunCommandOptions): Promise<void> {
  const root = resolve(dir);
  const tree = await treeOf(dir);
  const config = await readConfig(dir);
  const detection = await detect(tree);
  const pipeline = await generatePipeline({ detection, tree, ...(config ? { config } : {}) });
  if (pipeline.jobs.length === 0) throw new UserError(`nothing to run: ${nothingToRunReason(detection.reason, config !== undefined)}`);
  const jobs = pickJobs(pipeline.jobs, opts.job);
  const secrets = secretValues(opts.secret ?? []);
  const masker = createMasker(Object.values(secrets));
  const git = await gitState(root);

  const workRoot = await mkdtemp(join(scratchRoot(), "sparki-run-"));
  const dotted = dotSegment(workRoot);
  if (dotted) {
    await rm(workRoot, { recursive: true, force: true });
    throw new UserError(`the temp dir ${scratchRoot()} has a segment beginning with a dot (${dotted}), which test suites refuse; set TMPDIR to a plain path`);
  }
  const say = (line: string) => process.stdout.write(`${maskText(masker, line)}\n`);
  const sandbox = await chooseSandbox(opts.sandbox, workRoot, say);

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const outcomes = new Map<string, JobOutcome>();
  try {
    for (const job of jobs) {
      const blocker = opts.job ? undefined : job.needs.find((need) => outcomes.get(need)?.status !== "succeeded" && outcomes.has(need));
      if (stop.signal.aborted) outcomes.set(job.id, { status: "cancelled", exitCode: null, ms: 0 });
      else if (blocker) outcomes.set(job.id, { status: "skipped", exitCode: null, note: `needs ${blocker}`, ms: 0 });
      else if (job.branches !== null && git.branch !== "" && !job.branches.some((p) => branchMatches(p, git.branch))) {
        outcomes.set(job.id, { status: "skipped", exitCode: null, note: `runs on ${job.branches.join(", ")} only`, ms: 0 });
      } else {
        outcomes.set(job.id, await runJob({ job, pipelineEnv: pipeline.env, root, workRoot, sandbox, secrets, masker, git, say, signal: stop.signal }));
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (opts.keep) say(`sparki: the jobs' folders are kept in ${workRoot}`);
    else await rm(workRoot, { recursive: true, force: true });
  }
  const summary = [...outcomes].map(([id, o]) => `${id} ${o.status}${o.exitCode ? ` (exit code ${o.exitCode})` : ""}${o.note ? ` (${o.note})` : ""}`);
  say(`sparki: ${summary.join(", ")}`);
  // Jobs skipped for a failed need follow a failure; ones for their branch filter fail nothing.
  const failed = [...outcomes.values()].find((o) => o.status !== "succeeded" && o.status !== "skipped");
  if (failed) process.exitCode = stop.signal.aborted ? 130 : failed.exitCode || 1;
}

/** The pipeline's jobs a run takes: every one but the deploy jobs (the platform's), or the one asked for. */
function pickJobs(all: readonly Job[], wanted: string | undefined): Job[] {
  const runnable = all.filter((job) => job.stage !== "deploy");
  if (wanted === undefined) return runnable;
  const job = runnable.find((j) => j.id === wanted) ?? runnable.find((j) => j.name === wanted);
  if (!job) throw new UserError(`no job ${JSON.stringify(wanted)} in this project's pipeline; its jobs: ${runnable.map((j) => j.id).join(", ")}`);
  return [job];
}

function secretValues(names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = process.env[name];
    if (value === undefined) throw new UserError(`--secret ${name}: no such variable in your environment`);
    out[name] = value;
  }
  return out;
}

/** The checkout's commit and branch, as a runner's job gets them ("" outside a repository). */
async function gitState(root: string): Promise<{ repo: boolean; commitSha: string; branch: string }> {
  const git = (...args: string[]) => exec("git", ["-C", root, ...args]).then(({ stdout }) => stdout.trim());
  const commitSha = await git("rev-parse", "--verify", "--quiet", "HEAD").catch(() => "");
  const branch = await git("symbolic-ref", "--short", "--quiet", "HEAD").catch(() => "");
  const repo = await git("rev-parse", "--is-inside-work-tree").then(
    (answer) => answer === "true",
    () => false,
  );
  return { repo, commitSha, branch };
}

async function chooseSandbox(wanted: boolean, workRoot: string, say: (line: string) => void): Promise<Sandbox | undefined> {
  if (!wanted) {
    say("sparki: steps NOT sandboxed (--no-sandbox): they run as you and can read your files");
    return undefined;
  }
  const probe = await probeSandbox();
  if (!probe.ok) {
    say(`sparki: steps NOT sandboxed (${probe.reason}): they run as you and can read your files`);
    return undefined;
  }
  // The CLI's saved API token and the other jobs' folders are out of the steps' sight.
  return { bwrap: probe.bwrap, hidden: hiddenPaths({ configPath: configPath(), workDir: workRoot }) };
}

/** Copies the project into `src` as git sees it (tracked and untracked files, not ignored ones). */
async function copyProject(root: string, src: string, repo: boolean): Promise<void> {
  await mkdir(src, { recursive: true });
  if (!repo) {
    await cp(root, src, { recursive: true, verbatimSymlinks: true, filter: (path) => !/[/\\](node_modules|\.git)$/.test(path) });
    return;
  }
  const { stdout } = await exec("git", ["-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { maxBuffer: 256 * 1024 * 1024 });
  for (const file of new Set(stdout.split("\0").filter((f) => f !== ""))) {
    await cp(join(root, file), join(src, file), { recursive: true, verbatimSymlinks: true }).catch((err: NodeJS.ErrnoException) => {
      // Tracked but deleted in the working tree: the run sees the tree as it is.
      if (err.code !== "ENOENT") throw err;
    });
  }
}

interface JobRun {
  job: Job;
  pipelineEnv: Record<string, string>;
  root: string;
  workRoot: string;
  sandbox: Sandbox | undefined;
  secrets: Record<string, string>;
  masker: Masker;
  git: { repo: boolean; commitSha: string; branch: string };
  say: (line: string) => void;
  signal: AbortSignal;
}

async function runJob(run: JobRun): Promise<JobOutcome> {
  const { job, say } = run;
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const jobDir = await mkdtemp(join(run.workRoot, "job-"));
  const src = join(jobDir, "src");
  await copyProject(run.root, src, run.git.repo);
  if (run.sandbox) await mkdir(stepHome(jobDir));
  say(`sparki: job ${job.id} (${job.steps.length} step${job.steps.length === 1 ? "" : "s"}) in ${src}`);
  // The job's deadline covers all its steps, as on a runner.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), job.timeoutMinutes * 60_000);
  const signal = AbortSignal.any([run.signal, deadline.signal]);
  const ids = stepIds(job.steps);
  try {
    for (const [index, step] of job.steps.entries()) {
      const id = ids[index] as string;
      const command = stepCommand(job, step);
      say(`sparki: ${job.id} › ${step.name}: ${command}`);
      const outcome = await runStep({
        command,
        cwd: src,
        env: stepEnvironment({
          sandboxDir: run.sandbox ? jobDir : null,
          buildId: "local",
          jobId: job.id,
          stepId: id,
          commitSha: run.git.commitSha,
          branch: run.git.branch,
          jobEnv: { ...run.pipelineEnv, ...job.env },
          stepEnv: {},
          secrets: run.secrets,
        }),
        timeoutMs: job.timeoutMinutes * 60_000,
        signal,
        output: terminalSink(run.masker),
        ...(run.sandbox ? { sandbox: { sandbox: run.sandbox, jobDir } } : {}),
      });
      if (outcome.kind === "timed_out" || (outcome.kind === "aborted" && deadline.signal.aborted)) {
        say(`sparki: step ${step.name} timed out after ${job.timeoutMinutes} min`);
        return { status: "timed_out", exitCode: null, ms: ms() };
      }
      if (outcome.kind === "aborted") return { status: "cancelled", exitCode: null, ms: ms() };
      if (outcome.exitCode !== 0) {
        say(`sparki: step ${step.name} failed with exit code ${outcome.exitCode}`);
        return { status: "failed", exitCode: outcome.exitCode, ms: ms() };
      }
    }
    return { status: "succeeded", exitCode: 0, ms: ms() };
  } finally {
    clearTimeout(timer);
  }
}

/** A step's output on stdout, masked as the runner masks it for the log, ending on a line of its own. */
function terminalSink(masker: Masker): OutputSink {
  let state = initialMaskState;
  let endsLine = true;
  const put = (bytes: Uint8Array): boolean => {
    if (bytes.length === 0) return true;
    endsLine = bytes[bytes.length - 1] === 0x0a;
    return process.stdout.write(bytes);
  };
  return {
    write: (chunk) => {
      const masked = maskChunk(masker, state, chunk);
      state = masked.state;
      return put(masked.output);
    },
    onDrain: (fn) => void process.stdout.once("drain", fn),
    note: (text) => void put(Buffer.from(`${maskText(masker, text)}\n`)),
    end: () => {
      put(maskFlush(masker, state));
      state = initialMaskState;
      if (!endsLine) put(Buffer.from("\n"));
    },
  };
}
