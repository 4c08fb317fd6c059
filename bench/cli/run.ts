/**
 * bench/cli: cold starts of the installed packages (issue 15 item 8). Packs both tarballs
 * (`npm pack -w cli -w runner`, which bundles them), installs them with `npm install -g` into an
 * empty prefix, then times, from a new process to its exit, each through its bin/ link as a shell
 * starts it:
 *   node -e 0                  the baseline: Node itself, nothing loaded
 *   sparki --version           answered by bin.js from package.json, nothing else loaded
 *   sparki --help              the whole command tree (commander, zod, every command's module)
 *   sparki detect <fixture>    the detector's chunk too, on core/detect/fixtures/nextjs
 *   sparki-runner --version    answered by bin.js
 *   sparki-runner --help       the whole runner bundle
 *   checkout: sparki --help    `node cli/bin.js --help` in this checkout: the TypeScript through tsx,
 *                              as every start was before the packages (the "before" figure)
 * in alternating rounds, so a change in the machine's load falls on all of them alike.
 * Goals: `sparki --version` within 80 ms of `node -e 0` (p50), `sparki-runner --version` within 150.
 * BENCH_CLI_ROUNDS (30; 2 at smoke size) sets the rounds. A command that fails makes the run
 * invalid (exit 1).
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { ms, stats } from "../runner/platform.js";
import { size, sizeLabel } from "../size.js";

const projectRoot = resolve(import.meta.dirname, "..", "..");
const rounds = size("BENCH_CLI_ROUNDS", 30, 2);
const goals = { sparki: 80, runner: 150 };
const run = promisify(execFile);
const signed = (v: number) => `${v >= 0 ? "+" : "−"}${ms(Math.abs(v))}`;

interface Subject {
  label: string;
  command: string;
  args: string[];
  cwd?: string;
}

/** Packs both packages and installs them into `prefix`; returns the tarballs' sizes. */
async function install(scratch: string, prefix: string): Promise<string> {
  // npm's own variables (under `npm run bench`) would point the install elsewhere.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  const { stdout } = await run("npm", ["pack", "-w", "cli", "-w", "runner", "--pack-destination", scratch, "--json"], { cwd: projectRoot, env });
  const packed = JSON.parse(stdout) as { name: string; filename: string; size: number; unpackedSize: number }[];
  await run("npm", ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", "--prefer-offline", ...packed.map((p) => join(scratch, p.filename))], {
    cwd: scratch,
    env,
  });
  return packed.map((p) => `${p.name} ${(p.size / 1024).toFixed(0)} KiB packed, ${(p.unpackedSize / 1024).toFixed(0)} KiB unpacked`).join("; ");
}

/** One cold start: milliseconds from spawn to exit, or the reason it failed. */
function time(subject: Subject, env: NodeJS.ProcessEnv): number | string {
  const start = performance.now();
  const result = spawnSync(subject.command, subject.args, { cwd: subject.cwd, env, stdio: ["ignore", "ignore", "pipe"] });
  const elapsed = performance.now() - start;
  if (result.status !== 0) return `${subject.label} exited ${result.status ?? result.signal}: ${String(result.stderr).slice(0, 500)}`;
  return elapsed;
}

async function benchCli(): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), "sparki-bench-cli-"));
  try {
    const prefix = join(scratch, "prefix");
    const home = join(scratch, "home");
    mkdirSync(home, { recursive: true });
    const sizes = await install(scratch, prefix);
    console.log(`bench/cli, ${sizeLabel}: ${rounds} alternating rounds; ${sizes}`);
    const bin = (name: string) => join(prefix, "bin", name);
    const env = { PATH: [join(prefix, "bin"), dirname(process.execPath), "/usr/bin", "/bin"].join(":"), HOME: home };
    const subjects: Subject[] = [
      { label: "node -e 0", command: "node", args: ["-e", "0"] },
      { label: "sparki --version", command: bin("sparki"), args: ["--version"] },
      { label: "sparki --help", command: bin("sparki"), args: ["--help"] },
      { label: "sparki detect nextjs", command: bin("sparki"), args: ["detect", join(projectRoot, "core", "detect", "fixtures", "nextjs")] },
      { label: "sparki-runner --version", command: bin("sparki-runner"), args: ["--version"] },
      { label: "sparki-runner --help", command: bin("sparki-runner"), args: ["--help"] },
      { label: "checkout (tsx): sparki --help", command: "node", args: [join(projectRoot, "cli", "bin.js"), "--help"], cwd: projectRoot },
    ];
    const samples = new Map<string, number[]>(subjects.map((s) => [s.label, []]));
    const failures: string[] = [];
    // One untimed start each first: the tarballs were just written, their files may not be cached.
    for (const subject of subjects) time(subject, env);
    for (let round = 0; round < rounds; round++) {
      for (const subject of subjects) {
        const result = time(subject, env);
        if (typeof result === "string") failures.push(result);
        else samples.get(subject.label)?.push(result);
      }
    }
    const figures = new Map(subjects.map((s) => [s.label, stats(samples.get(s.label) ?? [])]));
    const node = figures.get("node -e 0")?.p50 ?? Number.NaN;
    console.log(`\n${"command".padEnd(32)}${"p50".padStart(8)}${"p95".padStart(8)}${"min".padStart(8)}   over node -e 0 (p50)`);
    for (const [label, f] of figures) {
      console.log(
        `${label.padEnd(32)}${ms(f.p50).padStart(8)}${ms(f.p95).padStart(8)}${ms(f.min).padStart(8)}   ${label === "node -e 0" ? "" : signed(f.p50 - node)}`,
      );
    }
    const over = (label: string) => (figures.get(label)?.p50 ?? Number.NaN) - node;
    const verdict = (label: string, goal: number) => `${signed(over(label))} (goal ≤ ${goal} ms: ${over(label) <= goal ? "met" : "NOT MET"})`;
    if (failures.length > 0) {
      process.exitCode = 1;
      console.log(`\n${failures.length} starts failed:\n${[...new Set(failures)].join("\n")}`);
    }
    const invalid = failures.length > 0 ? `; INVALID RUN: ${failures.length} starts failed` : "";
    return `SUMMARY cli: over node -e 0 (p50 ${ms(node)}), installed sparki --version ${verdict("sparki --version", goals.sparki)}, sparki-runner --version ${verdict("sparki-runner --version", goals.runner)}; sparki --help ${signed(over("sparki --help"))}, sparki detect ${signed(over("sparki detect nextjs"))}, sparki-runner --help ${signed(over("sparki-runner --help"))}; from the checkout through tsx, sparki --help ${signed(over("checkout (tsx): sparki --help"))}; ${rounds} rounds${invalid}; ${sizeLabel}`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

console.log(await benchCli());
