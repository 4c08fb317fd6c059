/**
 * Detection bench: Sparki vs @vercel/fs-detectors vs @netlify/build-info over the
 * fixture corpus and the create-vite templates (fetched with `npm pack` now, so the
 * bench tracks the real, current templates). Prints accuracy per tool for
 * framework, build command and output directory, median/p95 time per repository,
 * and one summary line.
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
import { buildScript, netlify, sparki, vercel, type Tool } from "./tools.ts";
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
  corpus: "fixtures" | "create-vite";
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

interface Tally {
  /** Repositories the tool threw on. */
  threw: number;
  framework: number;
  build: number;
  out: number;
  total: number;
  times: number[];
  misses: string[];
}

async function measure(tool: Tool, repos: readonly Repo[]): Promise<Tally> {
  const tally: Tally = { threw: 0, framework: 0, build: 0, out: 0, total: 0, times: [], misses: [] };
  for (const repo of repos) {
    const answer = await tool.detect(repo.dir).catch((err: unknown) => {
      tally.threw++;
      tally.misses.push(`${repo.name}: threw ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
      return { framework: null, build: null, out: null };
    });
    const s = score(repo.truth, answer, await buildScript(repo.dir));
    tally.total++;
    if (s.framework) tally.framework++;
    if (s.build) tally.build++;
    if (s.out) tally.out++;
    const wrong = (["framework", "build", "out"] as const).filter((k) => !s[k]);
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

async function main(): Promise<void> {
  const fixtures = await fixtureRepos();
  const templates = await createViteRepos();
  const corpora: Array<[string, Repo[]]> = [
    ["fixtures", fixtures],
    ["create-vite", templates],
    ["all", [...fixtures, ...templates]],
  ];
  const tools = [sparki, vercel, netlify];
  const results = new Map<string, Map<string, Tally>>();
  for (const tool of tools) {
    const byCorpus = new Map<string, Tally>();
    for (const [name, repos] of corpora.slice(0, 2)) byCorpus.set(name, await measure(tool, repos));
    const [a, b] = [byCorpus.get("fixtures"), byCorpus.get("create-vite")];
    if (a && b) {
      byCorpus.set("all", {
        threw: a.threw + b.threw,
        framework: a.framework + b.framework,
        build: a.build + b.build,
        out: a.out + b.out,
        total: a.total + b.total,
        times: [...a.times, ...b.times],
        misses: [...a.misses, ...b.misses],
      });
    }
    results.set(tool.name, byCorpus);
  }

  console.log(`detect bench (${sizeLabel}): ${fixtures.length} fixtures + ${templates.length} ${CREATE_VITE} templates, ${RUNS} timed runs per repo\n`);
  for (const [corpus] of corpora) {
    console.log(`${corpus}`);
    console.log(
      `  ${"tool".padEnd(22)} ${"framework".padStart(9)} ${"build".padStart(9)} ${"outputDir".padStart(9)} ${"median".padStart(9)} ${"p95".padStart(9)}`,
    );
    for (const tool of tools) {
      const r = results.get(tool.name)?.get(corpus);
      if (!r) continue;
      console.log(
        `  ${tool.name.padEnd(22)} ${pct(r.framework, r.total).padStart(9)} ${pct(r.build, r.total).padStart(9)} ${pct(r.out, r.total).padStart(9)} ${ms(quantile(r.times, 0.5)).padStart(9)} ${ms(quantile(r.times, 0.95)).padStart(9)}`,
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
  const summary = tools
    .map((tool) => {
      const r = results.get(tool.name)?.get("all");
      return r
        ? `${tool.name} fw ${pct(r.framework, r.total)} build ${pct(r.build, r.total)} out ${pct(r.out, r.total)} p50 ${ms(quantile(r.times, 0.5))} p95 ${ms(quantile(r.times, 0.95))}`
        : tool.name;
    })
    .join(" | ");
  const threw = results.get(sparki.name)?.get("all")?.threw ?? 0;
  if (threw > 0 || templates.length === 0) process.exitCode = 1;
  const invalid =
    threw > 0
      ? `; INVALID RUN: Sparki's detector threw on ${threw} repositories`
      : templates.length === 0
        ? `; INVALID RUN: ${CREATE_VITE} has no templates`
        : "";
  console.log(`SUMMARY detect (${fixtures.length + templates.length} repos): ${summary}${invalid}; ${sizeLabel}`);
  await rm(TMP, { recursive: true, force: true });
}

await main();
