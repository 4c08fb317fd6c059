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
 * in alternating rounds, so a change in the machine's load falls on all of them alike. Each start's
 * wall time (what the goals are about) and its CPU time (user + system, which a loaded machine
 * inflates far less) are printed, each beside its figure for `node -e 0`.
 * Goals: `sparki --version` within 80 ms of `node -e 0` (p50), `sparki-runner --version` within 150.
 * BENCH_CLI_ROUNDS (30; 2 at smoke size) sets the rounds. A command that fails makes the run
 * invalid (exit 1).
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
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

interface Start {
  /** Spawn to exit, as the user waits. */
  wallMs: number;
  /** User + system CPU of the command's processes: what the machine's load does not inflate. */
  cpuMs: number;
}

// bash's `times` prints its children's user and system CPU (second line): one shell per start,
// the same few milliseconds for every command, the baseline included. It counts in clock ticks
// (10 ms), so CPU is reported as a mean over the rounds, not a median of ticks.
const timesScript = '"$@" > /dev/null 2> "$ERR_FILE" || exit $?; times';
const seconds = (field: string) => {
  const m = /^(\d+)m([\d.]+)s$/.exec(field);
  return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
};

/** One cold start, or the reason it failed. */
function time(subject: Subject, env: NodeJS.ProcessEnv, errFile: string): Start | string {
  const start = performance.now();
  const result = spawnSync("bash", ["-c", timesScript, "bash", subject.command, ...subject.args], {
    cwd: subject.cwd,
    env: { ...env, ERR_FILE: errFile },
    encoding: "utf8",
  });
  const wallMs = performance.now() - start;
  if (result.status !== 0) return `${subject.label} exited ${result.status ?? result.signal}: ${readFileSync(errFile, "utf8").slice(0, 500)}`;
  const [user = "", system = ""] = result.stdout.trim().split("\n")[1]?.trim().split(/\s+/) ?? [];
  return { wallMs, cpuMs: (seconds(user) + seconds(system)) * 1000 };
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
    const samples = new Map<string, Start[]>(subjects.map((s) => [s.label, []]));
    const failures: string[] = [];
    const errFile = join(scratch, "stderr.txt");
    // One untimed start each first: the tarballs were just written, their files may not be cached.
    for (const subject of subjects) time(subject, env, errFile);
    for (let round = 0; round < rounds; round++) {
      for (const subject of subjects) {
        const result = time(subject, env, errFile);
        if (typeof result === "string") failures.push(result);
        else samples.get(subject.label)?.push(result);
      }
    }
    const wall = new Map(subjects.map((s) => [s.label, stats((samples.get(s.label) ?? []).map((x) => x.wallMs))]));
    const cpu = new Map(subjects.map((s) => [s.label, stats((samples.get(s.label) ?? []).map((x) => x.cpuMs))]));
    const base = { wall: wall.get("node -e 0")?.p50 ?? Number.NaN, cpu: cpu.get("node -e 0")?.mean ?? Number.NaN };
    console.log(
      `\n${"".padEnd(32)}${"wall p50".padStart(10)}${"p95".padStart(8)}${"min".padStart(8)}${"over node".padStart(11)}${"CPU mean".padStart(10)}${"over node".padStart(11)}`,
    );
    for (const { label } of subjects) {
      const w = wall.get(label);
      const c = cpu.get(label);
      if (!w || !c) continue;
      const first = label === "node -e 0";
      console.log(
        `${label.padEnd(32)}${ms(w.p50).padStart(10)}${ms(w.p95).padStart(8)}${ms(w.min).padStart(8)}${(first ? "" : signed(w.p50 - base.wall)).padStart(11)}${ms(c.mean).padStart(10)}${(first ? "" : signed(c.mean - base.cpu)).padStart(11)}`,
      );
    }
    const over = (label: string) => (wall.get(label)?.p50 ?? Number.NaN) - base.wall;
    const overCpu = (label: string) => (cpu.get(label)?.mean ?? Number.NaN) - base.cpu;
    const both = (label: string) => `${signed(over(label))} (CPU ${signed(overCpu(label))})`;
    const verdict = (label: string, goal: number) => `${both(label)} (goal ≤ ${goal} ms: ${over(label) <= goal ? "met" : "NOT MET"})`;
    if (failures.length > 0) {
      process.exitCode = 1;
      console.log(`\n${failures.length} starts failed:\n${[...new Set(failures)].join("\n")}`);
    }
    const invalid = failures.length > 0 ? `; INVALID RUN: ${failures.length} starts failed` : "";
    return `SUMMARY cli: over node -e 0 (wall p50 ${ms(base.wall)}, CPU mean ${ms(base.cpu)}), installed sparki --version ${verdict("sparki --version", goals.sparki)}, sparki-runner --version ${verdict("sparki-runner --version", goals.runner)}; sparki --help ${both("sparki --help")}, sparki detect ${both("sparki detect nextjs")}, sparki-runner --help ${both("sparki-runner --help")}; from the checkout through tsx, sparki --help ${both("checkout (tsx): sparki --help")}; ${rounds} rounds${invalid}; ${sizeLabel}`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

console.log(await benchCli());
