/**
 * bench/runner: what the runner adds to a step's wall time. One script, `sh work.sh`, that
 * starts 2,000 short processes and prints about 100,000 lines (8 MB), run in alternating rounds
 * by a real runner process (as the only step of a build on the real local stack, its output
 * streamed to the BuildCoordinator) and by plain `sh` (started the same way from a small Node
 * process, its output read and thrown away). The runner's wall time is the step's startedAt →
 * finishedAt as the API reports it; the script also notes its own start and end, which shows how
 * much of a difference is the work itself being slowed (CPU shared with the streaming, output
 * paused by backpressure) rather than the runner's bookkeeping around it. The script prints
 * those marks as its last line (a sandboxed step cannot write where the bench could read).
 * The runner runs the step in its bubblewrap sandbox (node/sandbox.ts), as runners do by
 * default; plain `sh` stays the baseline, unsandboxed.
 * Goal: runner overhead under 5 % (the median over rounds of each round's runner/sh ratio).
 * BENCH_RUNNER_ROUNDS (10), BENCH_RUNNER_SPAWNS (2,000) and BENCH_RUNNER_LINES (100,000) scale it;
 * at smoke size 1 round of 20 processes and 500 lines.
 */
import { ms, startPlatform, stats } from "./platform.js";
import { childrenCpuSeconds, cpuSeconds, workerdPids } from "./proc.js";
import { startShell } from "./shell.js";
import { size, sizeLabel } from "../size.js";
import { inTurn } from "../alternate.js";

const rounds = size("BENCH_RUNNER_ROUNDS", 10, 1);
const spawns = size("BENCH_RUNNER_SPAWNS", 2000, 20);
const outputLines = size("BENCH_RUNNER_LINES", 100_000, 500);
// BENCH_RUNNER_SANDBOX=0 runs the runner with --no-sandbox, to tell the sandbox's cost from the runner's.
const sandbox = process.env.BENCH_RUNNER_SANDBOX !== "0";
const goal = 1.05;

const workScript = `# bench/runner's step: many short processes, then a lot of output.
start=$(date +%s%3N)
i=0
while [ $i -lt ${spawns} ]; do
  /bin/echo "step command $i: compiling src/module-$i.ts -> dist/module-$i.js"
  i=$((i+1))
done
spawned=$(date +%s%3N)
seq 1 ${outputLines} | sed 's|^|  ✓ test case |; s|$| passed (3 ms) in src/components/widget.test.ts|'
echo "bench-marks $start $spawned $(date +%s%3N)"
`;

/** The script's own marks (its last line): start, after the processes, end. */
function inside(output: string) {
  const [start = NaN, spawned = NaN, end = NaN] = (/bench-marks (\d+) (\d+) (\d+)/.exec(output)?.slice(1) ?? []).map(Number);
  return { total: end - start, spawning: spawned - start, printing: end - spawned };
}

async function main(): Promise<string> {
  const platform = await startPlatform({ name: "runner", sandbox });
  const shell = startShell();
  try {
    const repo = await platform.gitRepo("busy", {
      "work.sh": workScript,
      "sparki.yml": ["language: javascript", "commands:", "  install: null", "  lint: null", "  test: null", "  build: sh work.sh", "outputDir: null", ""].join(
        "\n",
      ),
    });
    const project = await platform.createProject("runner", repo);
    const runnerPid = platform.runner.pid;
    let restarts = 0;
    const cpu = (own: number, children: number, workerd: ReturnType<typeof workerdPids>) => ({
      script: childrenCpuSeconds(children),
      "runner itself": cpuSeconds(own),
      "workerd (objects)": cpuSeconds(workerd.objects),
      "workerd (proxy)": cpuSeconds(workerd.proxy),
    });
    const minus = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]));

    /** CPU used by each party while `fn` runs; counts workerd restarts (wrangler dev rebuilds on any source change). */
    const measured = async <T>(own: number, fn: () => Promise<T>): Promise<[T, Record<string, number>]> => {
      const workerd = workerdPids(platform.work, platform.apiUrl);
      const before = cpu(own, own, workerd);
      const value = await fn();
      const used = minus(cpu(own, own, workerd), before);
      if (workerdPids(platform.work, platform.apiUrl).objects !== workerd.objects) {
        restarts++;
        console.log("  !! workerd was restarted during this run (wrangler dev restarts it whenever a source file of the Worker changes)");
      }
      return [value, used];
    };
    const viaShell = async () => {
      const [run, used] = await measured(shell.pid, () => shell.run("sh work.sh", repo));
      if (run.code !== 0) throw new Error(`sh work.sh exited ${run.code}`);
      return {
        wall: run.t1 - run.t0,
        inside: inside(run.tail),
        bytes: run.bytes,
        cpu: {
          script: used.script ?? NaN,
          "node reading the output": used["runner itself"] ?? NaN,
          "workerd (objects)": used["workerd (objects)"] ?? NaN,
          "workerd (proxy)": used["workerd (proxy)"] ?? NaN,
        },
      };
    };
    const viaRunner = async () => {
      const [build, used] = await measured(runnerPid, async () => {
        const from = platform.runner.events.length;
        const { id } = await platform.api<{ id: string }>("POST", `/v1/projects/${project.id}/builds`, { branch: "main" });
        // Wait on the runner's own lines rather than polling the API while the step runs.
        const claimed = await platform.runner.waitFor(new RegExp(`^claimed job (\\S+) \\(build ${id}, \\d+ step`), 120_000, from);
        await platform.runner.waitFor(new RegExp(`^job ${(claimed.match[1] ?? "").replaceAll(".", "\\.")}: finished`), 300_000, from);
        return platform.waitForEnd(id, 60_000);
      });
      const id = String(build.id);
      if (build.status !== "succeeded") throw new Error(`build ${id} ended ${build.status}: ${build.error ?? ""}\n${platform.runner.tail()}`);
      const job = build.jobs.find((j: any) => j.kind === "steps");
      const step = job?.steps?.[0];
      if (!step?.startedAt || !step?.finishedAt) throw new Error(`build ${id} reported no step times: ${JSON.stringify(build.jobs)}`);
      // "script" includes the build's two checkouts (git), and workerd the bench's polling.
      // Only the log's end: the marks are the step's last line (the build has ~spawns + lines).
      const tail = await platform.readLog(id, spawns + outputLines);
      return {
        wall: Date.parse(step.finishedAt) - Date.parse(step.startedAt),
        inside: inside(tail.map((l) => l.text).join("\n")),
        job: Date.parse(job.completedAt) - Date.parse(job.startedAt),
        cpu: used,
      };
    };

    const sandboxed = platform.runner.events.some((e) => /^runner started: .*, sandboxed$/.test(e.message));
    if (sandboxed !== sandbox) throw new Error(`the runner ${sandboxed ? "is" : "is not"} sandboxing its steps:\n${platform.runner.tail()}`);
    // What the step's network is (a namespace of its own through slirp4netns, or the host's) is part of its cost.
    const network = platform.runner.events.find((e) => e.message.startsWith("steps' network: "))?.message ?? "steps' network: not said";
    console.log(
      `${sizeLabel}; step: sh work.sh (${spawns} processes, ${outputLines} lines of output); ${rounds} alternating rounds after one warm-up of each; runner pid ${platform.runner.pid}, steps ${sandbox ? "in its bubblewrap sandbox" : "NOT sandboxed (BENCH_RUNNER_SANDBOX=0)"}; plain sh unsandboxed; ${network}`,
    );
    await viaShell();
    await viaRunner();
    const sh: Awaited<ReturnType<typeof viaShell>>[] = [];
    const runner: Awaited<ReturnType<typeof viaRunner>>[] = [];
    for (let round = 0; round < rounds; round++) {
      await inTurn(
        round,
        async () => sh.push(await viaShell()),
        async () => runner.push(await viaRunner()),
      );
      const [a, b] = [sh[sh.length - 1], runner[runner.length - 1]];
      console.log(`  round ${round + 1}: sh ${ms(a?.wall ?? NaN)}, runner ${ms(b?.wall ?? NaN)} (${((b?.wall ?? NaN) / (a?.wall ?? NaN)).toFixed(3)}×)`);
    }

    const s = {
      wall: stats(sh.map((r) => r.wall)),
      total: stats(sh.map((r) => r.inside.total)),
      spawning: stats(sh.map((r) => r.inside.spawning)),
      printing: stats(sh.map((r) => r.inside.printing)),
    };
    const r = {
      wall: stats(runner.map((r) => r.wall)),
      total: stats(runner.map((r) => r.inside.total)),
      spawning: stats(runner.map((r) => r.inside.spawning)),
      printing: stats(runner.map((r) => r.inside.printing)),
      job: stats(runner.map((r) => r.job)),
    };
    const row = (label: string, x: ReturnType<typeof stats>) =>
      console.log(`  ${label.padEnd(50)} median ${ms(x.p50).padStart(8)}  min ${ms(x.min).padStart(8)}  max ${ms(x.max).padStart(8)}`);
    console.log(`\n${rounds} rounds, ${((sh[0]?.bytes ?? 0) / 1e6).toFixed(1)} MB of output per run`);
    row("plain sh: spawn → exit, output read", s.wall);
    row("runner: step startedAt → finishedAt", r.wall);
    row("script's own time under sh", s.total);
    row(`  its ${spawns} processes`, s.spawning);
    row(`  its ${outputLines} lines of output`, s.printing);
    row("script's own time under the runner", r.total);
    row(`  its ${spawns} processes`, r.spawning);
    row(`  its ${outputLines} lines of output`, r.printing);
    row("runner: whole step job (checkout, log drain)", r.job);
    const meanCpu = (rows: { cpu: Record<string, number> }[]) => {
      const out: Record<string, number> = {};
      for (const x of rows) for (const [k, v] of Object.entries(x.cpu)) out[k] = (out[k] ?? 0) + v / rows.length;
      return Object.entries(out)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(", ");
    };
    console.log(`  CPU seconds per run, sh:     ${meanCpu(sh)}`);
    // Sandboxed, the step's processes are reaped by bwrap's init, not the runner: "script" misses them.
    console.log(
      `  CPU seconds per run, runner: ${meanCpu(runner)} (whole build${sandbox ? "; script: the checkouts only, the sandboxed step's CPU is not counted" : ""})`,
    );
    const insideRatio = r.total.p50 / s.total.p50;
    const mediansRatio = r.wall.p50 / s.wall.p50;
    const sumRatio = runner.reduce((t, x) => t + x.wall, 0) / sh.reduce((t, x) => t + x.wall, 0);
    // Each round runs both back to back, so its ratio compares the two under the same load;
    // the machine's speed drifts between rounds (plain sh alone varies by 20 % here), which
    // the medians of each side, taken apart, do not cancel.
    const paired = stats(runner.map((x, i) => x.wall / (sh[i]?.wall ?? NaN)));
    const ratio = paired.p50;
    console.log(
      `  ratio runner/sh: per round median ${ratio.toFixed(3)}× (min ${paired.min.toFixed(3)}×, max ${paired.max.toFixed(3)}×); medians ${mediansRatio.toFixed(3)}×, totals ${sumRatio.toFixed(3)}×; the script's own time ${insideRatio.toFixed(3)}×`,
    );
    // The script's marks are its last line: a run whose marks never arrived measured something else.
    const unmarked = [...sh, ...runner].filter((x) => !Number.isFinite(x.inside.total)).length;
    const problems = [
      ...(restarts > 0 ? [`workerd restarted ${restarts} time(s)`] : []),
      ...(unmarked > 0 ? [`${unmarked} runs without the script's marks`] : []),
    ];
    const verdict = problems.length > 0 ? `INVALID RUN: ${problems.join("; ")}` : ratio < goal ? "met" : "NOT met";
    if (problems.length > 0) process.exitCode = 1;
    return `SUMMARY runner (${sandbox ? "sandboxed" : "not sandboxed"}): step wall time runner/sh ${ratio.toFixed(3)}× (median of ${rounds} paired rounds; medians ${ms(r.wall.p50)} vs ${ms(s.wall.p50)} = ${mediansRatio.toFixed(3)}×; overhead ${((ratio - 1) * 100).toFixed(1)} %, goal < ${((goal - 1) * 100).toFixed(0)} %: ${verdict}); ${sizeLabel}`;
  } finally {
    shell.stop();
    await platform.close();
  }
}

console.log(await main());
