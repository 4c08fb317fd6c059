/**
 * Detection bench: Sparki vs @vercel/fs-detectors vs @netlify/build-info over the
 * fixture corpus, the create-vite templates (fetched with `npm pack` now, so the
 * bench tracks the real, current templates) and the real-repository corpus (real.ts;
 * reported as its own group when its snapshots are present). Prints accuracy per tool
 * for framework, build command, test command (where the truth has one) and output
 * directory, median/p95 time per repository, and one summary line.
 *
 *   npx tsx bench/detect/run.ts [--runs N]
 *
 * At smoke size one timed run per repository. Sparki's detector throwing on a repository is a
 * bug, not a miss: the run fails (exit 1).
 */
import { execFile } from "node:child_process";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { quantile, score } from "./score.ts";
import { netlify, scriptsAt, sparki, vercel, type Tool } from "./tools.ts";
import { REAL_REPOS, realCorpusDir } from "./real.ts";
import { CREATE_VITE_TRUTH, FIXTURE_TRUTH, type Truth } from "./truth.ts";
import { sizeLabel, smoke } from "../size.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = join(ROOT, "core/detect/fixtures");
const TMP = join(ROOT, ".bench-tmp/detect");
const CREATE_VITE = "create-vite@9.3.0";
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : smoke ? 1 : 5;

interface Repo {
  corpus: "fixtures" | "create-vite" | "real";
  name: string;
  dir: string;
  truth: Truth;
}

async function fixtureRepos(): Promise<Repo[]> {
  const names = (await readdir(FIXTURES)).sort();
  const missing = names.filter((n) => !FIXTURE_TRUTH[n]);
  if (missing.length > 0) throw new Error(`bench/detect/truth.ts has no truth for fixtures: ${missing.join(", ")}`);
  return names.map((name) => ({ corpus: "fixtures", name, dir: join(FIXTURES, name), truth: FIXTURE_TRUTH[name] as Truth }));
}

async function createViteRepos(): Promise<Repo[]> {
  const dir = join(TMP, "create-vite");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const { stdout } = await run("npm", ["pack", CREATE_VITE, "--silent", "--pack-destination", dir], { cwd: dir });
  await run("tar", ["-xzf", join(dir, stdout.trim()), "-C", dir]);
  const pkg = join(dir, "package");
  const templates = (await readdir(pkg)).filter((n) => n.startsWith("template-")).sort();
  return templates.map((name) => ({ corpus: "create-vite", name, dir: join(pkg, name), truth: CREATE_VITE_TRUTH }));
}

/** The real repositories whose snapshots are present; [] when the corpus is not on this machine. */
async function realRepos(): Promise<Repo[]> {
  const dir = realCorpusDir(ROOT);
  if (!dir) return [];
  const present = new Set(await readdir(dir));
  const missing = REAL_REPOS.filter((r) => !present.has(r.name)).map((r) => r.name);
  if (missing.length > 0) throw new Error(`${dir} lacks snapshots for: ${missing.join(", ")}`);
  return REAL_REPOS.map((r) => ({ corpus: "real", name: r.name, dir: join(dir, r.name, "repo"), truth: r.truth }));
}

interface Tally {
  /** Repositories the tool threw on. */
  threw: number;
  framework: number;
  build: number;
  test: number;
  /** Repositories with a test truth (the test column's denominator). */
  testTotal: number;
  out: number;
  total: number;
  times: number[];
  misses: string[];
}

async function measure(tool: Tool, repos: readonly Repo[]): Promise<Tally> {
  const tally: Tally = { threw: 0, framework: 0, build: 0, test: 0, testTotal: 0, out: 0, total: 0, times: [], misses: [] };
  for (const repo of repos) {
    const answer = await tool.detect(repo.dir).catch((err: unknown) => {
      tally.threw++;
      tally.misses.push(`${repo.name}: threw ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
      return { framework: null, build: null, test: null, out: null };
    });
    const s = score(repo.truth, answer, await scriptsAt(repo.dir));
    tally.total++;
    if (s.framework) tally.framework++;
    if (s.build) tally.build++;
    if (s.test !== null) tally.testTotal++;
    if (s.test) tally.test++;
    if (s.out) tally.out++;
    const wrong = (["framework", "build", "test", "out"] as const).filter((k) => s[k] === false);
    if (wrong.length > 0) tally.misses.push(`${repo.corpus}/${repo.name}: ${wrong.map((k) => `${k}=${JSON.stringify(answer[k])}`).join(" ")}`);
  }
  // The scoring pass above doubles as warm-up (JIT, file cache); timed passes follow,
  // each over the whole corpus so no repository is measured only while cold.
  for (let i = 0; i < RUNS; i++) {
    for (const repo of repos) {
      const start = performance.now();
      await tool.detect(repo.dir).catch(() => null);
      tally.times.push(performance.now() - start);
    }
  }
  return tally;
}

const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(1)}%`;
const ms = (v: number) => `${v.toFixed(2)}ms`;

function sum(parts: readonly Tally[]): Tally {
  const out: Tally = { threw: 0, framework: 0, build: 0, test: 0, testTotal: 0, out: 0, total: 0, times: [], misses: [] };
  for (const p of parts) {
    for (const k of ["threw", "framework", "build", "test", "testTotal", "out", "total"] as const) out[k] += p[k];
    out.times.push(...p.times);
    out.misses.push(...p.misses);
  }
  return out;
}

async function main(): Promise<void> {
  const fixtures = await fixtureRepos();
  const templates = await createViteRepos();
  const real = await realRepos();
  const groups: Array<[string, Repo[]]> = [
    ["fixtures", fixtures],
    ["create-vite", templates],
    ...(real.length > 0 ? [["real", real] as [string, Repo[]]] : []),
  ];
  const corpora = [...groups.map(([name]) => name), "all"];
  const tools = [sparki, vercel, netlify];
  const results = new Map<string, Map<string, Tally>>();
  for (const tool of tools) {
    const byCorpus = new Map<string, Tally>();
    for (const [name, repos] of groups) byCorpus.set(name, await measure(tool, repos));
    byCorpus.set("all", sum([...byCorpus.values()]));
    results.set(tool.name, byCorpus);
  }

  const total = groups.reduce((n, [, repos]) => n + repos.length, 0);
  console.log(
    `detect bench (${sizeLabel}): ${fixtures.length} fixtures + ${templates.length} ${CREATE_VITE} templates + ${real.length > 0 ? `${real.length} real repositories` : "no real repositories (snapshots not found; see bench/detect/README.md)"}, ${RUNS} timed runs per repo\n`,
  );
  for (const corpus of corpora) {
    console.log(`${corpus}`);
    console.log(
      `  ${"tool".padEnd(22)} ${"framework".padStart(9)} ${"build".padStart(9)} ${"test".padStart(9)} ${"outputDir".padStart(9)} ${"median".padStart(9)} ${"p95".padStart(9)}`,
    );
    for (const tool of tools) {
      const r = results.get(tool.name)?.get(corpus);
      if (!r) continue;
      const test = r.testTotal > 0 ? pct(r.test, r.testTotal) : "—";
      console.log(
        `  ${tool.name.padEnd(22)} ${pct(r.framework, r.total).padStart(9)} ${pct(r.build, r.total).padStart(9)} ${test.padStart(9)} ${pct(r.out, r.total).padStart(9)} ${ms(quantile(r.times, 0.5)).padStart(9)} ${ms(quantile(r.times, 0.95)).padStart(9)}`,
      );
    }
    console.log("");
  }
  for (const tool of tools) {
    const misses = results.get(tool.name)?.get("all")?.misses ?? [];
    console.log(`${tool.name} misses (${misses.length}):`);
    for (const m of misses) console.log(`  ${m}`);
    console.log("");
  }
  const line = (r: Tally | undefined, name: string) =>
    r
      ? `${name} fw ${pct(r.framework, r.total)} build ${pct(r.build, r.total)}${r.testTotal > 0 ? ` test ${pct(r.test, r.testTotal)}` : ""} out ${pct(r.out, r.total)}`
      : name;
  const summary = tools
    .map((tool) => {
      const r = results.get(tool.name)?.get("all");
      return r ? `${line(r, tool.name)} p50 ${ms(quantile(r.times, 0.5))} p95 ${ms(quantile(r.times, 0.95))}` : tool.name;
    })
    .join(" | ");
  const realLine =
    real.length > 0 ? `; real ${real.length}: ${tools.map((t) => line(results.get(t.name)?.get("real"), t.name)).join(" | ")}` : "; real: not run";
  const threw = results.get(sparki.name)?.get("all")?.threw ?? 0;
  if (threw > 0 || templates.length === 0) process.exitCode = 1;
  const invalid =
    threw > 0
      ? `; INVALID RUN: Sparki's detector threw on ${threw} repositories`
      : templates.length === 0
        ? `; INVALID RUN: ${CREATE_VITE} has no templates`
        : "";
  console.log(`SUMMARY detect (${total} repos): ${summary}${realLine}${invalid}; ${sizeLabel}`);
  await rm(TMP, { recursive: true, force: true });
}

await main();
