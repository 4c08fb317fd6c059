/**
 * The sandbox's cost inside the runner, without the platform: node/steps.ts `runStep` runs
 * bench/runner's step (2,000 short processes, then 100,000 lines) plainly and under bwrap,
 * alternating, in this one process, its output read and dropped. Prints each round and the
 * median of the per-round ratios. `node --import tsx bench/runner/step-cost.ts [rounds]`
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sandboxBaseEnv } from "../../node/sandbox.ts";
import { runStep } from "../../node/steps.ts";

const rounds = Number(process.argv[2] ?? 8);
// Not under /tmp, which the sandbox replaces with its own.
const jobDir = mkdtempSync(join(process.cwd(), ".step-cost-"));
mkdirSync(join(jobDir, "src"));
mkdirSync(join(jobDir, "home"));
writeFileSync(
  join(jobDir, "src", "work.sh"),
  `i=0
while [ $i -lt 2000 ]; do /bin/echo "step command $i: compiling src/module-$i.ts -> dist/module-$i.js"; i=$((i+1)); done
seq 1 100000 | sed 's|^|  ✓ test case |; s|$| passed (3 ms) in src/components/widget.test.ts|'
`,
);
const sink = { write: () => true, onDrain: (fn: () => void) => fn(), note: () => undefined, end: () => undefined };
const env = { ...sandboxBaseEnv(jobDir), CI: "true" };

async function once(sandboxed: boolean): Promise<number> {
  const started = performance.now();
  const outcome = await runStep({
    command: "sh work.sh",
    cwd: join(jobDir, "src"),
    env,
    timeoutMs: 120_000,
    signal: new AbortController().signal,
    output: sink,
    ...(sandboxed ? { sandbox: { sandbox: { bwrap: "/usr/bin/bwrap", hidden: [] }, jobDir } } : {}),
  });
  if (outcome.kind !== "exited" || outcome.exitCode !== 0) throw new Error(`the step ended ${JSON.stringify(outcome)}`);
  return performance.now() - started;
}

try {
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Alternate which goes first, so neither always follows the other.
    const [plain, sandboxed] = round % 2 ? [await once(false), await once(true)] : [await once(true), await once(false)].reverse();
    ratios.push((sandboxed ?? NaN) / (plain ?? NaN));
    console.log(`round ${round}: plain ${plain?.toFixed(0)} ms, sandboxed ${sandboxed?.toFixed(0)} ms (${ratios.at(-1)?.toFixed(3)}×)`);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  console.log(`SUMMARY step-cost: sandboxed/plain runStep ${sorted[Math.floor(sorted.length / 2)]?.toFixed(3)}× (median of ${rounds} paired rounds)`);
} finally {
  rmSync(jobDir, { recursive: true, force: true });
}
