/**
 * bench/cache: what dependency caches buy (issue 14 item 7). The react-ts template of `create-vite`
 * (taken with `npm pack` from the registry, as test/e2e/create-vite.test.ts does, with a
 * package-lock.json made once with `npm install --package-lock-only`) built by Sparki
 * twice on the real local stack with one sandboxed runner (so every job starts with an empty home:
 * only the cache warms it): the first build cold (no cache entry), the second warm (its jobs restore
 * the entry the first saved). For each: the whole build (startedAt → completedAt) and the install
 * step of its install job (the whole install job when it restored the install and skipped the step). Beside them, in the same run, the same install command by hand with a
 * warm ~/.npm (a fresh node_modules, the cache already filled by one install before): the
 * machine's limit. Goals: the warm install within 1.3× of the hand-run warm install, the warm build
 * at least 2× faster than the cold one. BENCH_CACHE_WARM_BUILDS (2) warm builds are run, the
 * median counts. At smoke size a project with an empty package-lock stands in for the template.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { coldAndWarm } from "../runner/by-hand.js";
import { ms, startPlatform, stats } from "../runner/platform.js";
import { size, sizeLabel, smoke } from "../size.js";

const run = promisify(execFile);
const warmBuilds = size("BENCH_CACHE_WARM_BUILDS", 2, 1);
// The template has no lockfile; the bench makes one (as a project would commit), so the detected
// install is `npm ci` and the cache is keyed on the lockfile, the case the goals name.
const installCommand = "npm ci";

/** The project's files: the react-ts template, or at smoke size an empty npm project. */
async function projectFiles(scratch: string): Promise<Record<string, string>> {
  if (smoke) {
    return {
      "package.json": JSON.stringify({ name: "tiny", version: "1.0.0", private: true }),
      "package-lock.json": JSON.stringify({
        name: "tiny",
        version: "1.0.0",
        lockfileVersion: 3,
        requires: true,
        packages: { "": { name: "tiny", version: "1.0.0" } },
      }),
    };
  }
  const pack = join(scratch, "pack");
  mkdirSync(pack, { recursive: true });
  const { stdout } = await run("npm", ["pack", "create-vite", "--json", "--pack-destination", pack], { cwd: pack, timeout: 120_000 });
  const [info] = JSON.parse(stdout) as { filename: string; version: string }[];
  if (!info) throw new Error(`npm pack printed no file: ${stdout}`);
  await run("tar", ["-xzf", join(pack, info.filename), "-C", pack]);
  const template = join(pack, "package", "template-react-ts");
  const repo = join(scratch, "template");
  cpSync(template, repo, { recursive: true });
  if (existsSync(join(repo, "_gitignore"))) renameSync(join(repo, "_gitignore"), join(repo, ".gitignore"));
  await run("npm", ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: repo, timeout: 300_000 });
  console.log(`create-vite ${info.version}, template-react-ts`);
  const files: Record<string, string> = {};
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(dir, entry.name), rel);
      else files[rel] = readFileSync(join(dir, entry.name), "utf8");
    }
  };
  walk(repo, "");
  return files;
}

const span = (from: string | null, to: string | null) => (from && to ? Date.parse(to) - Date.parse(from) : NaN);

/** The whole build's time and its install job's install step. */
function timings(build: any): { build: number; install: number } {
  const job = build.jobs.find((j: any) => j.name === "install");
  const step = job?.steps.find((s: any) => s.name === "install");
  // A warm install job restores the install result and skips the step: then the install is the
  // job, from the plan's end (when it could be claimed) to its own (claim, folder, lookup,
  // download, unpack): what it took to have node_modules in place.
  const plan = build.jobs.find((j: any) => j.kind === "plan");
  if (step?.status === "skipped") return { build: span(build.startedAt, build.completedAt), install: span(plan?.completedAt ?? null, job.completedAt) };
  return { build: span(build.startedAt, build.completedAt), install: span(step?.startedAt ?? null, step?.finishedAt ?? null) };
}

/** `npm install` by hand in a copy of the project, with a ~/.npm warmed by one install before. */
function byHand(files: Record<string, string>): Promise<{ cold: number; warm: number }> {
  const fill = (src: string) => {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(src, path, ".."), { recursive: true });
      writeFileSync(join(src, path), content);
    }
  };
  return coldAndWarm("cache", fill, [installCommand]);
}

async function main(): Promise<string> {
  console.log(`bench/cache: ${sizeLabel}; ${warmBuilds} warm build(s)`);
  const platform = await startPlatform({ name: "cache", sandbox: true });
  try {
    const files = await projectFiles(platform.work);
    const repo = await platform.gitRepo("vite", files);
    const project = await platform.createProject("vite", repo);
    const buildOnce = async (label: string) => {
      const { id } = await platform.api<{ id: string }>("POST", `/v1/projects/${project.id}/builds`, { branch: "main" });
      const build = await platform.waitForEnd(id, 900_000);
      if (build.status !== "succeeded") throw new Error(`${label} build ${id} ended ${build.status}: ${JSON.stringify(build.jobs)}`);
      const t = timings(build);
      const log = (await platform.readLog(id)).map((l) => l.text).filter((t) => t.startsWith("sparki: ") && /cache|install|checkout/.test(t));
      console.log(`  ${label.padEnd(6)} build ${ms(t.build).padStart(9)}, install step ${ms(t.install).padStart(9)}`);
      for (const line of log) console.log(`           ${line}`);
      return t;
    };
    const cold = await buildOnce("cold");
    const warm: { build: number; install: number }[] = [];
    for (let i = 0; i < warmBuilds; i++) warm.push(await buildOnce(`warm ${i + 1}`));
    const hand = await byHand(files);
    console.log(`  by hand: ${installCommand} with an empty ~/.npm ${ms(hand.cold)}, with a warm ~/.npm ${ms(hand.warm)}`);

    const warmBuild = stats(warm.map((w) => w.build)).p50;
    const warmInstall = stats(warm.map((w) => w.install)).p50;
    const installRatio = warmInstall / hand.warm;
    const speedup = cold.build / warmBuild;
    const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
    return `SUMMARY cache: warm install ${ms(warmInstall)} = ${installRatio.toFixed(2)}× the hand-run warm ${installCommand} (${ms(hand.warm)}; goal ≤ 1.3×: ${verdict(installRatio <= 1.3)}); whole build cold ${ms(cold.build)} → warm ${ms(warmBuild)} = ${speedup.toFixed(2)}× faster (goal ≥ 2×: ${verdict(speedup >= 2)}); cold install ${ms(cold.install)}; ${sizeLabel}`;
  } finally {
    await platform.close();
  }
}

console.log(await main());
