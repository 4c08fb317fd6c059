/**
 * Runs one step on a network of its own as a runner without root would: `node --import tsx
 * test/step-without-root.ts <work root> <command>`, started as an unprivileged user. Prints what the
 * runner's probe decided (`PROBE …`), the step's output, then `OUTCOME <json>`. For
 * node/step-network.test.ts, which cannot drop its own root.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { OutputSink } from "../node/output-sink.ts";
import { findExecutable, sandboxBaseEnv } from "../node/sandbox.ts";
import { probeStepNetwork } from "../node/step-network.ts";
import { runStep } from "../node/steps.ts";

const [root, command] = process.argv.slice(2);
if (!root || !command) throw new Error("usage: step-without-root.ts <work root> <command>");
const bwrap = findExecutable("bwrap");
if (!bwrap) throw new Error("bwrap was not found on PATH");
const probe = await probeStepNetwork(bwrap, root);
console.log(`PROBE ${JSON.stringify(probe)}`);
if (!probe.ok) process.exit(1);
const jobDir = join(root, "job");
mkdirSync(join(jobDir, "src"), { recursive: true });
mkdirSync(join(jobDir, "home"), { recursive: true });
const output: OutputSink = {
  write: (chunk) => process.stdout.write(chunk),
  onDrain: (fn) => fn(),
  note: (text) => process.stdout.write(`[note] ${text}\n`),
  end: () => undefined,
};
const outcome = await runStep({
  command,
  cwd: join(jobDir, "src"),
  env: sandboxBaseEnv(jobDir),
  timeoutMs: 60_000,
  signal: new AbortController().signal,
  output,
  sandbox: { sandbox: { bwrap, hidden: [], network: probe.network }, jobDir },
  killGraceMs: 1000,
});
console.log(`OUTCOME ${JSON.stringify(outcome)}`);
