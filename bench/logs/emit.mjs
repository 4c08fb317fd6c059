// The step of bench/logs (committed into the benchmark's repository and run by the runner, or by
// the relay's producer): creates GO_FILE.ready, waits for GO_FILE, then prints LINES lines at
// RATE lines/s, each carrying the time it was written (pipes are synchronous on Linux, so that
// is the time of the write).
//   node emit.mjs LINES RATE GO_FILE
import { existsSync, writeFileSync } from "node:fs";

const [total, rate, goFile] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const pad = "x".repeat(60);
writeFileSync(`${goFile}.ready`, "");
while (!existsSync(goFile)) await new Promise((r) => setTimeout(r, 10));

const start = Date.now();
let next = 0;
const tick = () => {
  const due = Math.min(total, Math.floor(((Date.now() - start) * rate) / 1000) + 1);
  if (due > next) {
    let out = "";
    const now = Date.now();
    for (; next < due; next++) out += `bench-line ${next} ${now} ${pad}\n`;
    process.stdout.write(out);
  }
  if (next < total) setTimeout(tick, 1);
};
tick();
