/**
 * `npm run bench [name…]`: runs each benchmark (`bench/<name>/run.ts`, all by default) as its own
 * process, streaming its figures, then prints every benchmark's one-line summary together.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const available = readdirSync(benchDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(benchDir, d.name, "run.ts")))
  .map((d) => d.name)
  .sort();

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; choose from ${available.join(", ")}`);
  process.exit(2);
}

function run(name: string): Promise<{ summary: string | undefined; code: number }> {
  return new Promise((done) => {
    let summary: string | undefined;
    let pending = "";
    const child = spawn(process.execPath, ["--import", "tsx", join(benchDir, name, "run.ts")], { stdio: ["ignore", "pipe", "inherit"] });
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith("SUMMARY ")) summary = line.slice("SUMMARY ".length);
    });
    child.on("close", (code) => done({ summary, code: code ?? 1 }));
  });
}

const summaries: string[] = [];
let failed = false;
for (const name of wanted.length > 0 ? wanted : available) {
  console.log(`\n### bench/${name}`);
  const { summary, code } = await run(name);
  if (code !== 0) failed = true;
  summaries.push(summary ?? `${name}: failed (exit ${code})`);
}
console.log(`\n${summaries.join("\n")}`);
process.exit(failed ? 1 : 0);
