/**
 * bench/dispatch: how long a build waits before its work starts. On the real local stack with a
 * real runner process (idle, long-polling), 100 builds one after another of a repository whose
 * sparki.yml has one job with one step; each build is a plan job and then that step job.
 *
 * Measured from the moment the bench sends `POST /v1/projects/:id/builds` (same clock as the
 * runner, same machine) to:
 *   - the runner claiming the plan job (its "claimed job … plan" line),
 *   - the step itself starting: the step is `date +%s%3N > FILE`, so it records its own start.
 * The time between is split into phases from the runner's event lines and the timestamps its log
 * lines carry (read back through the viewer socket after each build): claims, the plan's checkout
 * (through the runner's mirror), the step job's (the plan's folder reused on the same runner),
 * detection, the pipeline upload. Beside it, in alternating rounds from a small Node process:
 * the same command started the way the runner starts a step (spawn latency, the floor no
 * platform can beat), and one checkout done by hand the way the runner does it.
 * Goal: trigger → first step p95 under 500 ms. BENCH_DISPATCH_BUILDS changes the number of builds
 * (100; 2 after 1 warm-up at smoke size), split over the two phases below.
 *
 * A second stack and runner, the same but with tracing on (the Worker, its objects and the runner
 * exporting every span to a local OTLP receiver in a process of its own at the lowest CPU priority,
 * standing in for a collector on another host: collector.ts), take their turn after each build,
 * first one then the other in alternate rounds, so a drift in the machine's load and whatever one
 * build leaves running into the next fall on both alike; its figures are printed beside the others.
 * Two phases start the stacks in opposite orders. Goal: within 5 %. BENCH_DISPATCH_CONTROL=1
 * starts the second stack with tracing off too: what the comparison shows between two identical
 * stacks, its noise floor.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Collector, startCollector } from "../collector.js";
import { ms, type Platform, startPlatform, stats } from "../runner/platform.js";
import { type Shell, startShell } from "../runner/shell.js";
import { size, sizeLabel, smoke } from "../size.js";
import { inTurn } from "../alternate.js";

const builds = size("BENCH_DISPATCH_BUILDS", 100, 2);
const warmup = smoke ? 1 : 3;
const goalMs = 500;
// Sequential builds measure pickup, not queueing: the runner is idle and polling when each starts.
const settleMs = 300;
const control = process.env.BENCH_DISPATCH_CONTROL === "1";

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// Phases of one build, from the runner's event lines and the timestamps its log lines carry.
const phases = {
  post: "POST /v1/projects/:id/builds answered",
  planClaim: "trigger → plan job claimed",
  planPrep: "  plan claimed → its checkout starts",
  planCheckout: "  plan checkout (mirror) + detect",
  planUpload: "  pipeline upload (POST …/pipeline)",
  planEnd: "  plan uploaded → 'finished' (acks, complete)",
  handoff: "  plan finished → step job claimed",
  toSteps: "trigger → step job claimed",
  stepsPrep: "  step claimed → its checkout starts",
  stepsCheckout: "  step checkout (reused) → step started",
  toStep: "trigger → first step started",
} as const;
type Row = Record<keyof typeof phases, number>;

/** One stack and its runner, with the one-step project the builds run. */
interface Side {
  platform: Platform;
  projectId: string;
  repo: string;
  marks: string;
  rows: Row[];
  /** The last build's figures, warm-up included, for the progress lines. */
  last: Row | null;
}

async function startSide(name: string, collector: Collector | null): Promise<Side> {
  const tracing = collector ? { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } : undefined;
  const platform = await startPlatform({ name, ...(tracing ? { vars: tracing, runnerEnv: tracing } : {}) });
  try {
    const marks = join(platform.work, "starts");
    mkdirSync(marks, { recursive: true });
    const stepCommand = `date +%s%3N > ${marks}/$SPARKI_BUILD_ID`;
    const repo = await platform.gitRepo("one-step", {
      "sparki.yml": [
        "language: javascript",
        "commands:",
        "  install: null",
        "  lint: null",
        "  test: null",
        `  build: '${stepCommand}'`,
        "outputDir: null",
        "",
      ].join("\n"),
    });
    const project = await platform.createProject("dispatch", repo);
    return { platform, projectId: project.id, repo, marks, rows: [], last: null };
  } catch (err) {
    await platform.close();
    throw err;
  }
}

/** One build, trigger to end, split into its phases. */
async function oneBuild({ platform, projectId, marks }: Side): Promise<Row> {
  const { runner } = platform;
  const from = runner.events.length;
  const sent = Date.now();
  const build = await platform.api<{ id: string }>("POST", `/v1/projects/${projectId}/builds`, { branch: "main" });
  const answered = Date.now();
  const plan = await runner.waitFor(new RegExp(`^claimed job (\\S+) \\(build ${build.id}, plan\\)`), 60_000, from);
  const planId = plan.match[1] as string;
  const planDone = await runner.waitFor(new RegExp(`^job ${escapeRegExp(planId)}: finished (\\w+)`), 60_000, from);
  const steps = await runner.waitFor(new RegExp(`^claimed job (\\S+) \\(build ${build.id}, \\d+ step`), 60_000, from);
  const stepsId = steps.match[1] as string;
  const stepsDone = await runner.waitFor(new RegExp(`^job ${escapeRegExp(stepsId)}: finished (\\w+)`), 60_000, from);
  if (planDone.match[1] !== "succeeded" || stepsDone.match[1] !== "succeeded") throw new Error(`build ${build.id} did not succeed:\n${runner.tail()}`);
  const started = Number(readFileSync(join(marks, build.id), "utf8"));
  const end = await platform.waitForEnd(build.id, 60_000);
  if (end.status !== "succeeded") throw new Error(`build ${build.id} ended ${end.status}`);

  const log = await platform.readLog(build.id);
  const at = (jobId: string, test: (l: (typeof log)[number]) => boolean) => log.find((l) => l.jobId === jobId && test(l))?.ts ?? NaN;
  const planCheckout = at(planId, (l) => l.step === "sparki:checkout");
  const detected = at(planId, (l) => l.step === "sparki:plan" && l.text.startsWith("detected"));
  const uploaded = at(planId, (l) => l.step === "sparki:plan" && l.text.startsWith("uploaded"));
  const stepsCheckout = at(stepsId, (l) => l.step === "sparki:checkout");
  return {
    post: answered - sent,
    planClaim: plan.event.at - sent,
    planPrep: planCheckout - plan.event.at,
    planCheckout: detected - planCheckout,
    planUpload: uploaded - detected,
    planEnd: planDone.event.at - uploaded,
    handoff: steps.event.at - planDone.event.at,
    toSteps: steps.event.at - sent,
    stepsPrep: stepsCheckout - steps.event.at,
    stepsCheckout: started - stepsCheckout,
    toStep: started - sent,
  };
}

const line = (label: string, samples: number[]) => {
  const s = stats(samples);
  console.log(`  ${label.padEnd(48)} p50 ${ms(s.p50).padStart(7)}  p95 ${ms(s.p95).padStart(7)}  min ${ms(s.min).padStart(7)}  max ${ms(s.max).padStart(7)}`);
  return s;
};

/** Prints one side's phases; returns each phase's figures and the phases whose line was not found. */
function report(title: string, rows: Row[]) {
  console.log(`\n${title}: ${rows.length} sequential builds (one plan job, then one job of one step); the runner's clock, the step's and ours are one`);
  const results = Object.fromEntries(
    Object.entries(phases).map(([key, label]) => [
      key,
      line(
        label,
        rows.map((r) => r[key as keyof typeof phases]),
      ),
    ]),
  ) as Record<keyof typeof phases, ReturnType<typeof stats>>;
  // A phase whose log line or event was not found (its wording changed) leaves a hole, not a figure.
  const missing = Object.entries(phases)
    .filter(([key]) => rows.some((r) => !Number.isFinite(r[key as keyof typeof phases])))
    .map(([, label]) => label.trim());
  return { results, missing };
}

/** Each role's builds over both phases, and the baselines measured beside them. */
interface Results {
  off: Row[];
  on: Row[];
  spawnLatency: number[];
  checkoutFloor: number[];
}

/**
 * One phase: both stacks and runners started (in the order given), warmed, then `count` rounds of
 * one build on each in turn, then closed. Two identical stacks differ in a run here, so the two
 * phases start them in opposite orders and the figures pool both: a bias of start order (which
 * stack's processes came up first) falls on each side alike.
 */
async function phase(onFirst: boolean, count: number, collector: Collector, shell: Shell, into: Results): Promise<void> {
  const sides: Side[] = [];
  const start = (traced: boolean) =>
    traced ? startSide(control ? "dispatch-control" : "dispatch-traced", control ? null : collector) : startSide("dispatch", null);
  try {
    sides.push(await start(onFirst));
    sides.push(await start(!onFirst));
    const [off, on] = (onFirst ? [sides[1], sides[0]] : sides) as [Side, Side];
    // The runner's checkout (runner/git.ts) by hand, for what a checkout costs on this machine.
    const checkoutCommand = `d=$(mktemp -d) && cd "$d" && git init --quiet && git remote add origin '${off.repo}' && git fetch --quiet --no-tags --depth 1 origin +refs/heads/main:refs/remotes/origin/main && git checkout --quiet --force --detach refs/remotes/origin/main && git rev-parse HEAD > /dev/null; cd / && rm -rf "$d"`;
    console.log(
      `phase with ${onFirst ? "tracing on" : "tracing off"} started first: ${count} builds after ${warmup} warm-up builds on each stack; runner pids ${off.platform.runner.pid} (off), ${on.platform.runner.pid} (${control ? "control" : "on"})`,
    );
    for (let i = 0; i < warmup + count; i++) {
      // Baseline round: the same command, started the way the runner starts it; and a checkout.
      const base = join(off.marks, `baseline-${i}`);
      const spawned = await shell.run(`date +%s%3N > ${base}`, off.repo);
      if (spawned.code !== 0) throw new Error(`the baseline command exited ${spawned.code}`);
      const baseline = Number(readFileSync(base, "utf8")) - spawned.t0;
      const checkout = await shell.run(checkoutCommand, off.repo);
      if (checkout.code !== 0) throw new Error(`the baseline checkout exited ${checkout.code}`);
      const measure = (side: Side) => async () => {
        const row = await oneBuild(side);
        side.last = row;
        if (i >= warmup) side.rows.push(row);
        await new Promise((r) => setTimeout(r, settleMs));
      };
      await inTurn(i, measure(off), measure(on));
      if (i >= warmup) {
        into.spawnLatency.push(baseline);
        into.checkoutFloor.push(checkout.t1 - checkout.t0);
      }
      const last = (side: Side) => ms(side.last?.toStep ?? NaN);
      if (i === warmup - 1 || (i >= warmup && (i - warmup + 1) % 10 === 0))
        console.log(`  ${i < warmup ? "warm-up done" : `${i - warmup + 1} builds each`}: last trigger → step ${last(off)} off, ${last(on)} on`);
    }
    into.off.push(...off.rows);
    into.on.push(...on.rows);
    const p95 = (rows: Row[]) => stats(rows.map((r) => r.toStep)).p95;
    console.log(`  this phase's trigger → first step p95: ${(p95(on.rows) / p95(off.rows)).toFixed(2)}× off`);
  } finally {
    for (const side of sides) await side.platform.close();
  }
}

async function main(): Promise<string> {
  const collector = await startCollector();
  const shell = startShell();
  try {
    console.log(
      `${sizeLabel}: ${control ? "both stacks with tracing off (control)" : "tracing off and on"}, one build on each in turn, alternating which goes first`,
    );
    const results: Results = { off: [], on: [], spawnLatency: [], checkoutFloor: [] };
    await phase(false, Math.ceil(builds / 2), collector, shell, results);
    await phase(true, Math.floor(builds / 2) || 1, collector, shell, results);
    const { off, on, spawnLatency, checkoutFloor } = results;
    const offReport = report("tracing off", off);
    const onReport = report(control ? "CONTROL (tracing off)" : "TRACING ON", on);
    console.log("baselines, in alternating rounds from a small Node process:");
    const base = line("  sh -c start of the same command", spawnLatency);
    line("  one checkout as the runner does it, by sh", checkoutFloor);
    const spans = await collector.count();
    console.log(`  spans received with tracing on: ${spans} (by a collector in its own process at nice 19)`);
    const step = offReport.results.toStep;
    const traced = onReport.results.toStep;
    const ratio = traced.p95 / step.p95;
    const second = control ? "control" : "on";
    console.log(`\ntrigger → first step, tracing off and ${control ? "a second stack with tracing off" : "on"}:`);
    console.log(`  off  p50 ${ms(step.p50).padStart(7)}  p95 ${ms(step.p95).padStart(7)}`);
    console.log(`  ${second.padEnd(4)} p50 ${ms(traced.p50).padStart(7)}  p95 ${ms(traced.p95).padStart(7)}  (p95 ${ratio.toFixed(2)}× off; goal ≤ 1.05×)`);
    const missing = [...new Set([...offReport.missing, ...onReport.missing])];
    const invalid =
      off.length === 0 || on.length === 0
        ? "no builds measured"
        : missing.length > 0
          ? `not found in the runner's log: ${missing.join("; ")}`
          : spans === 0 && !control
            ? "tracing on, but no span reached the receiver"
            : null;
    if (invalid) process.exitCode = 1;
    const verdict = invalid ? `INVALID RUN: ${invalid}` : step.p95 < goalMs ? "met" : "NOT met";
    return `SUMMARY dispatch: trigger → first step p50 ${ms(step.p50)}, p95 ${ms(step.p95)} (goal p95 < ${goalMs} ms: ${verdict}); trigger → plan claimed p50 ${ms(offReport.results.planClaim.p50)}, p95 ${ms(offReport.results.planClaim.p95)}; sh -c start p95 ${ms(base.p95)}; ${control ? "control, tracing off" : "tracing on"}: p95 ${ms(traced.p95)} = ${ratio.toFixed(2)}× off (goal ≤ 1.05×); ${off.length}+${on.length} builds; ${sizeLabel}`;
  } finally {
    shell.stop();
    collector.close();
  }
}

console.log(await main());
