/**
 * The relay's producer, the least a runner can do: runs the step the way the runner does
 * (`sh -c`, stderr merged, own process group), cuts its output into lines and sends each chunk's
 * lines as one frame on one WebSocket, numbered and timestamped, with no acks and no outbox.
 * Usage: producer.ts WS_URL CWD COMMAND; prints one JSON line with its figures when the step ends.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import WebSocket from "ws";

const [url, cwd, command] = process.argv.slice(2) as [string, string, string];
const ws = new WebSocket(url);
await new Promise((resolve, reject) => {
  ws.once("open", resolve);
  ws.once("error", reject);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
const cpuAtStart = process.cpuUsage();

const child = spawn("/bin/sh", ["-c", 'exec /bin/sh -c "$1" 2>&1', "sh", command], { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
let rest = "";
let seq = 0;
let frames = 0;
const take = (chunk: Buffer) => {
  const parts = (rest + chunk.toString()).split("\n");
  rest = parts.pop() ?? "";
  if (parts.length === 0) return;
  const ts = Date.now();
  ws.send(JSON.stringify({ type: "lines", lines: parts.map((text) => ({ seq: ++seq, step: "build", ts, text })) }));
  frames++;
};
child.stdout.on("data", take);
child.stderr.on("data", take);
const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
// Let the socket's buffer drain before closing.
while (ws.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 10));
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN);
const cpu = process.cpuUsage(cpuAtStart);
process.stdout.write(`${JSON.stringify({ done: true, code, lines: seq, frames, peakRssKb: peakKb, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
ws.close();
