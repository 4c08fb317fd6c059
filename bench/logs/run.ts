/**
 * bench/logs: one build whose step prints 200,000 lines at 2,000 lines/s, watched live by 100
 * WebSocket viewers (GET /v1/builds/:id/logs with a bearer token), on the real local stack with a
 * real runner process. Each line carries the time the step wrote it; each viewer notes when it
 * got it. Beside it, in the same workerd: a LogRelay Durable Object (relay.ts) that only relays
 * frames from a minimal producer (producer.ts: the same step, one frame per chunk of output, no
 * acks) to the same viewers, batching for 25 ms. Rounds go relay, Sparki, relay (half the lines
 * each relay round), so a drift in the machine's load falls on both.
 * Also the runner's peak RSS while it streams (VmHWM, reset when streaming starts).
 * Goals: Sparki's write → viewer p95 within 1.25× of the relay's; runner peak RSS under 150 MB.
 * BENCH_LOG_LINES, BENCH_LOG_RATE and BENCH_LOG_VIEWERS scale it down for a quick run; at smoke size
 * 400 lines at 2,000 lines/s to 3 viewers.
 */
import { fork, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { projectRoot } from "../../dev/stack.js";
import { startPlatform, type Platform } from "../runner/platform.js";
import { cpuSeconds, memoryKb, sampleRss, workerdPids } from "../runner/proc.js";
import { writeBenchConfig } from "./config.js";
import type { ViewerResult } from "./viewers.js";
import { size, sizeLabel, smoke } from "../size.js";

const lines = size("BENCH_LOG_LINES", 200_000, 400);
const rate = size("BENCH_LOG_RATE", 2000, 2000);
const viewerCount = size("BENCH_LOG_VIEWERS", 100, 3);
const latencyGoal = 1.25;
const rssGoalMb = 150;
const here = fileURLToPath(new URL(".", import.meta.url));

// --- viewers ------------------------------------------------------------------------------------

function startViewers() {
  const child = fork(join(here, "viewers.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = <T>(key: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => (child.off("message", on), reject(new Error(`viewers: no ${key} within ${timeoutMs} ms`))), timeoutMs);
      const on = (message: Record<string, unknown>) => {
        if (message.error) return (clearTimeout(timer), child.off("message", on), reject(new Error(`viewers: ${String(message.error)}`)));
        if (!(key in message)) return;
        clearTimeout(timer);
        child.off("message", on);
        resolve(message[key] as T);
      };
      child.on("message", on);
    });
  return {
    pid: child.pid ?? -1,
    async connect(url: string, headers: Record<string, string>, expect: number): Promise<void> {
      const connected = next<number>("connected", 120_000);
      child.send({ connect: { url, headers, count: viewerCount, expect } });
      await connected;
    },
    /** Resolves when every viewer has the last line; after `timeoutMs`, with what they have. */
    async result(timeoutMs: number): Promise<ViewerResult> {
      const result = next<ViewerResult>("result", timeoutMs + 30_000);
      const timer = setTimeout(() => child.send({ stop: true }), timeoutMs);
      try {
        return await result;
      } finally {
        clearTimeout(timer);
      }
    },
    stop: () => child.kill(),
  };
}
type Viewers = ReturnType<typeof startViewers>;

// --- figures ------------------------------------------------------------------------------------

interface Round {
  result: ViewerResult;
  cpu: Record<string, number>;
  seconds: number;
  /** wrangler dev restarted workerd meanwhile (it rebuilds whenever a source file changes). */
  restarted: boolean;
}

function pool(results: ViewerResult[], key: "written" | "stamped"): number[] {
  const out: number[] = [];
  for (const r of results)
    r[key].forEach((count, ms) => {
      out[ms] = (out[ms] ?? 0) + count;
    });
  return Array.from(out, (v) => v ?? 0);
}
function quantile(histogram: number[], q: number): number {
  const total = histogram.reduce((s, v) => s + v, 0);
  let seen = 0;
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms] ?? 0;
    if (seen > q * total) return ms;
  }
  return NaN;
}
function describe(rounds: Round[]) {
  const results = rounds.map((r) => r.result);
  const written = pool(results, "written");
  const stamped = pool(results, "stamped");
  const linesPerViewer = results.reduce((s, r) => s + r.lines / r.viewers, 0);
  const seconds = results.reduce((s, r) => s + (r.lastReceipt - r.firstReceipt) / 1000, 0);
  const frames = results.reduce((s, r) => s + r.frames, 0);
  const cpu: Record<string, number> = {};
  for (const round of rounds) for (const [k, v] of Object.entries(round.cpu)) cpu[k] = (cpu[k] ?? 0) + v;
  const wall = rounds.reduce((s, r) => s + r.seconds, 0);
  return {
    p50: quantile(written, 0.5),
    p95: quantile(written, 0.95),
    p99: quantile(written, 0.99),
    max: written.length - 1,
    stampedP95: quantile(stamped, 0.95),
    perViewerRate: linesPerViewer / seconds,
    linesPerFrame: results.reduce((s, r) => s + r.lines, 0) / Math.max(1, frames),
    complete: results.map((r) => `${r.complete}/${r.viewers}`).join(" + "),
    duplicates: results.reduce((s, r) => s + r.duplicates, 0),
    received: results.reduce((s, r) => s + r.lines, 0),
    expected: results.reduce((s, r) => s + r.expected * r.viewers, 0),
    cpu,
    wall,
  };
}

// --- rounds -------------------------------------------------------------------------------------

const clock = (t: number) => new Date(t).toISOString().slice(11, 19);
const streamTimeoutMs = (n: number) => (n / rate) * 2000 + 60_000;

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Workerd = ReturnType<typeof workerdPids>;
const cpuOf = (workerd: Workerd, viewers: Viewers) => ({
  "workerd (objects)": cpuSeconds(workerd.objects),
  "workerd (proxy)": cpuSeconds(workerd.proxy),
  viewers: cpuSeconds(viewers.pid),
});
const minus = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]));

const restartNote =
  "  !! workerd was restarted during this round (wrangler dev rebuilds and restarts it whenever a source file of the Worker changes, e.g. someone editing the checkout): its figures are not valid";

async function relayRound(platform: Platform, viewers: Viewers, repo: string, name: string, n: number): Promise<Round> {
  const ws = platform.apiUrl.replace(/^http/, "ws");
  await viewers.connect(`${ws}/__relay/${name}/viewer`, {}, n);
  const go = join(platform.work, `go-${name}`);
  const producer = spawn(
    process.execPath,
    ["--import", "tsx", join(here, "producer.ts"), `${ws}/__relay/${name}/producer`, repo, `node emit.mjs ${n} ${rate} ${go}`],
    { cwd: projectRoot, stdio: ["ignore", "pipe", "inherit"] },
  );
  const said: Record<string, unknown>[] = [];
  const heard = new Promise<void>((resolve) =>
    producer.stdout.on(
      "data",
      (d: Buffer) => (
        said.push(
          ...d
            .toString()
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l)),
        ),
        resolve()
      ),
    ),
  );
  await heard;
  await waitForFile(`${go}.ready`, 30_000);
  const workerd = workerdPids(platform.work, platform.apiUrl);
  const before = cpuOf(workerd, viewers);
  const started = Date.now();
  writeFileSync(go, "");
  const result = await viewers.result(streamTimeoutMs(n));
  const seconds = (Date.now() - started) / 1000;
  const cpu = minus(cpuOf(workerd, viewers), before);
  await new Promise<void>((resolve) => (producer.exitCode !== null ? resolve() : producer.once("exit", () => resolve())));
  const done = said.find((m) => m.done) as { peakRssKb: number; frames: number; cpuSeconds: number } | undefined;
  cpu["runner/producer"] = done?.cpuSeconds ?? NaN;
  const restarted = workerdPids(platform.work, platform.apiUrl).objects !== workerd.objects;
  console.log(
    `  relay round ${name} (${clock(started)}–${clock(Date.now())}): ${n} lines, ${result.complete}/${result.viewers} viewers complete, producer sent ${done?.frames ?? "?"} frames, peak RSS ${((done?.peakRssKb ?? NaN) / 1024).toFixed(0)} MB`,
  );
  if (restarted) console.log(restartNote);
  return { result, cpu, seconds, restarted };
}

async function sparkiRound(
  platform: Platform,
  viewers: Viewers,
  projectId: string,
  n: number,
): Promise<Round & { runnerPeakMb: number; runnerSampledMb: number; build: any }> {
  const { runner } = platform;
  const go = join(platform.work, "go-sparki");
  const from = runner.events.length;
  const build = await platform.api<{ id: string }>("POST", `/v1/projects/${projectId}/builds`, { branch: "main" });
  await viewers.connect(`${platform.apiUrl.replace(/^http/, "ws")}/v1/builds/${build.id}/logs`, { authorization: `Bearer ${platform.token}` }, n);
  await runner.waitFor(new RegExp(`^claimed job (\\S+) \\(build ${build.id}, \\d+ step`), 60_000, from);
  await waitForFile(`${go}.ready`, 60_000);
  const pid = runner.pid;
  try {
    // Resets VmHWM, so the peak is the one while streaming (Linux ≥ 4.0, needs the process's owner).
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    console.log("  (could not reset the runner's VmHWM; its peak counts since its start)");
  }
  const workerd = workerdPids(platform.work, platform.apiUrl);
  const before = { ...cpuOf(workerd, viewers), "runner/producer": cpuSeconds(pid) };
  const stopSampling = sampleRss(pid);
  const started = Date.now();
  writeFileSync(go, "");
  const result = await viewers.result(streamTimeoutMs(n));
  const seconds = (Date.now() - started) / 1000;
  const cpu = minus({ ...cpuOf(workerd, viewers), "runner/producer": cpuSeconds(pid) }, before);
  const runnerSampledMb = stopSampling() / 1024;
  const runnerPeakMb = memoryKb(pid, "VmHWM") / 1024;
  const restarted = workerdPids(platform.work, platform.apiUrl).objects !== workerd.objects;
  const end = await platform.waitForEnd(build.id, 300_000);
  console.log(
    `  Sparki build ${build.id} (streaming ${clock(started)}–${clock(started + seconds * 1000)}): ${end.status}, ${result.complete}/${result.viewers} viewers complete, runner peak RSS ${runnerPeakMb.toFixed(0)} MB`,
  );
  if (restarted) console.log(restartNote);
  return { result, cpu, seconds, restarted, runnerPeakMb, runnerSampledMb, build: end };
}

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<string> {
  const full = lines === 200_000 && rate === 2000 && viewerCount === 100;
  const scale = smoke ? sizeLabel : full ? "full size" : "SCALED DOWN";
  console.log(`${scale}: ${lines} lines at ${rate} lines/s to ${viewerCount} viewers (${(lines / rate).toFixed(0)} s per side)`);
  // The merged config: the root wrangler.toml plus the relay object, main = bench/logs/worker.ts.
  const configDir = mkdtempSync(join(tmpdir(), "sparki-bench-logs-config-"));
  const platform = await startPlatform({ name: "logs", config: writeBenchConfig(configDir) }).catch((err: unknown) => {
    rmSync(configDir, { recursive: true, force: true });
    throw err;
  });
  const viewers = startViewers();
  try {
    const go = join(platform.work, "go-sparki");
    const repo = await platform.gitRepo("loud", {
      "emit.mjs": readFileSync(join(here, "emit.mjs"), "utf8"),
      "sparki.yml": [
        "language: javascript",
        "commands:",
        "  install: null",
        "  lint: null",
        "  test: null",
        `  build: node emit.mjs ${lines} ${rate} ${go}`,
        "outputDir: null",
        "",
      ].join("\n"),
    });
    const project = await platform.createProject("logs", repo);
    const workerd = workerdPids(platform.work, platform.apiUrl);
    console.log(`runner pid ${platform.runner.pid}, workerd pids ${workerd.objects} (objects) and ${workerd.proxy} (proxy), viewers pid ${viewers.pid}`);

    const first = Math.floor(lines / 2);
    const relayA = await relayRound(platform, viewers, repo, "a", first);
    const sparki = await sparkiRound(platform, viewers, project.id, lines);
    const relayB = await relayRound(platform, viewers, repo, "b", lines - first);

    const relay = describe([relayA, relayB]);
    const ours = describe([sparki]);
    const row = (label: string, d: ReturnType<typeof describe>) => {
      console.log(`  ${label}`);
      console.log(
        `    write → viewer   p50 ${d.p50} ms  p95 ${d.p95} ms  p99 ${d.p99} ms  max ${d.max} ms   (runner/producer stamp → viewer p95 ${d.stampedP95} ms)`,
      );
      console.log(
        `    delivered        ${d.perViewerRate.toFixed(0)} lines/s per viewer, ${(d.perViewerRate * viewerCount).toFixed(0)} lines/s in all; ${d.linesPerFrame.toFixed(1)} lines per frame`,
      );
      console.log(`    completeness     ${d.received}/${d.expected} line receipts, viewers complete ${d.complete}, duplicates ${d.duplicates}`);
      console.log(
        `    CPU seconds      ${Object.entries(d.cpu)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(", ")} over ${d.wall.toFixed(0)} s of streaming`,
      );
    };
    console.log(`\n${lines} lines at ${rate} lines/s, ${viewerCount} viewers`);
    row("relay (LogRelay, 25 ms batches; two rounds of half the lines, before and after)", relay);
    row("Sparki (runner → BuildCoordinator → viewers)", ours);
    const ratio = ours.p95 / relay.p95;
    console.log(`  ratio Sparki/relay: p50 ${(ours.p50 / relay.p50).toFixed(2)}×  p95 ${ratio.toFixed(2)}×  p99 ${(ours.p99 / relay.p99).toFixed(2)}×`);
    console.log(
      `  runner RSS while streaming: peak (VmHWM) ${sparki.runnerPeakMb.toFixed(0)} MB, highest 200 ms sample ${sparki.runnerSampledMb.toFixed(0)} MB`,
    );
    const problems = [
      ...[relayA, sparki, relayB].filter((r) => r.restarted).map(() => "workerd restarted mid-round"),
      ...(ours.received < ours.expected ? [`Sparki's viewers got ${ours.received} of ${ours.expected} lines`] : []),
      ...(relay.received < relay.expected ? [`the relay's viewers got ${relay.received} of ${relay.expected} lines`] : []),
    ];
    if (problems.length > 0) process.exitCode = 1;
    const latencyMet = problems.length > 0 ? `INVALID RUN: ${problems.join("; ")}` : ratio <= latencyGoal ? "met" : "NOT met";
    const rssMet = sparki.runnerPeakMb < rssGoalMb ? "met" : "NOT met";
    return `SUMMARY logs: write → viewer p95 ${ours.p95} ms vs relay ${relay.p95} ms = ${ratio.toFixed(2)}× (goal ≤ ${latencyGoal}×: ${latencyMet}); ${ours.perViewerRate.toFixed(0)} lines/s per viewer (relay ${relay.perViewerRate.toFixed(0)}); runner peak RSS ${sparki.runnerPeakMb.toFixed(0)} MB (goal < ${rssGoalMb} MB: ${rssMet}); ${scale} ${lines} lines, ${rate}/s, ${viewerCount} viewers`;
  } finally {
    viewers.stop();
    await platform.close();
    rmSync(configDir, { recursive: true, force: true });
  }
}

console.log(await main());
