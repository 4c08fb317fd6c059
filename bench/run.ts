/**
 * `npm run bench [name…]`: runs the benchmarks (all by default), each printing its figures, then
 * one summary line per benchmark.
 */
import { benchApi } from "./api/index.js";

const benches: Record<string, () => Promise<string>> = { api: benchApi };

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; choose from ${Object.keys(benches).join(", ")}`);
  process.exit(2);
}
const summaries: string[] = [];
for (const name of wanted.length > 0 ? wanted : Object.keys(benches)) {
  console.log(`\n### ${name}`);
  const bench = benches[name];
  if (bench) summaries.push(await bench());
}
console.log("\n" + summaries.join("\n"));
