/**
 * `npx tsx test/record-file-seconds.ts`: writes test/file-seconds.json, the seconds each test file
 * took in this checkout's last full run (vitest's own timings in node_modules/.vite, a file's hooks
 * included), for the sequencer (test/sequencer.ts) on a fresh clone, which has no timings of its own.
 * Run it after a full `npm test` on this 2-core machine, then commit the file.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";

const root = resolve(import.meta.dirname, "..");
const cacheDir = join(root, "node_modules", ".vite", "vitest");
const Results = z.object({ results: z.array(z.tuple([z.string(), z.object({ duration: z.number() }).partial().nullable()])) });
// Files quicker than this keep vitest's order: their place changes nothing.
const minSeconds = 3;

const seconds: Record<string, number> = {};
for (const dir of readdirSync(cacheDir)) {
  const { results } = Results.parse(JSON.parse(readFileSync(join(cacheDir, dir, "results.json"), "utf8")));
  for (const [key, result] of results) {
    const duration = (result?.duration ?? 0) / 1000;
    if (duration >= minSeconds) seconds[key] = Math.max(seconds[key] ?? 0, Math.round(duration));
  }
}
const sorted = Object.fromEntries(Object.entries(seconds).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
writeFileSync(join(root, "test", "file-seconds.json"), `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`test/file-seconds.json: ${Object.keys(sorted).length} files of ${minSeconds} s or more`);
