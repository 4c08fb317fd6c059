/**
 * bench/realworld: a public repository's own CI run zero-config by Sparki (issue 14 item 7).
 * expressjs/express at a pinned commit, from the source snapshot vendored beside this file (the
 * npm tarball lacks the tests; `git archive` of the commit, MIT licence included), committed to a
 * local git repository and built twice by Sparki on the real local stack with one sandboxed runner:
 * the first build cold (no dependency cache), the second warm. Beside them, in the same run, the
 * commands of the pipeline Sparki generated, each once and in order, by hand in a fresh copy with a
 * home of its own: once with an empty ~/.npm (cold), then again with a fresh node_modules and the
 * warm ~/.npm (warm), what a person would run. Goal: the warm build within 1.3× of the warm run by
 * hand. At smoke size an npm project with no dependencies and trivial lint and test scripts stands
 * in for express (the same code path, no registry traffic).
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { coldAndWarm } from "../runner/by-hand.js";
import { ms, startPlatform, stats } from "../runner/platform.js";
import { size, sizeLabel, smoke } from "../size.js";

const run = promisify(execFile);
const here = fileURLToPath(new URL(".", import.meta.url));
/** The pinned commit of expressjs/express (2026-07-27, "build(deps-dev): bump hbs from 4.2.0 to 4.2.1"). */
const expressCommit = "a3714473feb3d2908add734d340e7755fd85e0a3";
const snapshot = join(here, `express-${expressCommit.slice(0, 12)}.tar.gz`);
const warmBuilds = size("BENCH_REALWORLD_WARM_BUILDS", 1, 1);

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@sparki.test",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@sparki.test",
};

/** The project's files in `dir`: express's snapshot, or at smoke size a tiny stand-in. */
async function unpackProject(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  if (smoke) {
    const pkg = { name: "tiny", version: "1.0.0", private: true, scripts: { lint: "node -e 0", test: "node -e \"console.log('1 passing')\"" } };
    writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
    writeFileSync(
      join(dir, "package-lock.json"),
      JSON.stringify({ name: "tiny", version: "1.0.0", lockfileVersion: 3, requires: true, packages: { "": { name: "tiny", version: "1.0.0" } } }),
    );
    return "a stand-in npm project (smoke)";
  }
  await run("tar", ["-xzf", snapshot, "-C", dir, "--strip-components=1"]);
  return `expressjs/express ${expressCommit.slice(0, 12)}`;
}

const span = (from: string | null, to: string | null) => (from && to ? Date.parse(to) - Date.parse(from) : NaN);

/** The commands of the pipeline's jobs in stage order, each once: what a person runs by hand. */
function commandsOf(pipeline: { stages: { jobs: string[] }[]; jobs: { id: string; steps: { run: string }[] }[] }): string[] {
  const seen: string[] = [];
  for (const stage of pipeline.stages)
    for (const id of stage.jobs) for (const step of pipeline.jobs.find((j) => j.id === id)?.steps ?? []) if (!seen.includes(step.run)) seen.push(step.run);
  return seen;
}

/** The commands by hand in a copy of the project: with an empty ~/.npm, then with it warm and a fresh node_modules. */
function byHand(project: string, commands: readonly string[]): Promise<{ cold: number; warm: number }> {
  return coldAndWarm("realworld", (src) => cpSync(project, src, { recursive: true, filter: (path) => !path.endsWith("/.git") }), commands);
}

async function main(): Promise<string> {
  console.log(`bench/realworld: ${sizeLabel}; ${warmBuilds} warm build(s)`);
  const platform = await startPlatform({ name: "realworld", sandbox: true });
  try {
    const repo = join(platform.work, "repos", "express");
    const what = await unpackProject(repo);
    await run("git", ["init", "--quiet", "--initial-branch=main", repo], { env: gitEnv });
    await run("git", ["add", "-A"], { cwd: repo, env: gitEnv });
    await run("git", ["commit", "--quiet", "-m", `snapshot of ${what}`], { cwd: repo, env: gitEnv });
    console.log(`  project: ${what}`);
    const project = await platform.createProject("express", repo);
    const buildOnce = async (label: string) => {
      const { id } = await platform.api<{ id: string }>("POST", `/v1/projects/${project.id}/builds`, { branch: "main" });
      const build = await platform.waitForEnd(id, 900_000);
      if (build.status !== "succeeded") {
        const log = (await platform.readLog(id)).map((l) => l.text);
        throw new Error(`${label} build ${id} ended ${build.status}: ${JSON.stringify(build.jobs)}\n${log.slice(-60).join("\n")}`);
      }
      const total = span(build.startedAt, build.completedAt);
      const jobs = build.jobs
        .filter((j: any) => j.kind === "steps")
        .map((j: any) => `${j.name} ${ms(span(j.startedAt, j.completedAt))}`)
        .join(", ");
      console.log(`  ${label.padEnd(6)} build ${ms(total).padStart(9)} (${jobs})`);
      // What the dependency cache did, from the runner's own log lines.
      const cacheLines = (await platform.readLog(id))
        .map((l) => l.text)
        .filter((t) => /^sparki: (restored|saved|warning: cache|no cache|cache |nothing to cache)/.test(t));
      for (const line of cacheLines) console.log(`           ${line}`);
      return total;
    };
    const cold = await buildOnce("cold");
    const warm: number[] = [];
    for (let i = 0; i < warmBuilds; i++) warm.push(await buildOnce(`warm ${i + 1}`));
    const pipeline = (await platform.api<{ configuration: Parameters<typeof commandsOf>[0] }>("GET", `/v1/projects/${project.id}/pipeline`)).configuration;
    const commands = commandsOf(pipeline);
    const hand = await byHand(repo, commands);
    console.log(`  by hand: ${commands.join(" && ")}: with an empty ~/.npm ${ms(hand.cold)}, with a warm ~/.npm ${ms(hand.warm)}`);

    const warmBuild = stats(warm).p50;
    const ratio = warmBuild / hand.warm;
    const verdict = ratio <= 1.3 ? "met" : "NOT met";
    return `SUMMARY realworld: ${what} by Sparki cold ${ms(cold)} (${(cold / hand.cold).toFixed(2)}× by hand cold, ${ms(hand.cold)}), warm ${ms(warmBuild)} = ${ratio.toFixed(2)}× the same commands by hand with a warm ~/.npm (${ms(hand.warm)}; goal ≤ 1.3×: ${verdict}); ${sizeLabel}`;
  } finally {
    await platform.close();
  }
}

console.log(await main());
