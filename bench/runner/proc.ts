/**
 * What the benchmarks read about processes from /proc (Linux): CPU seconds, memory, and the
 * workerd processes of a stack's `wrangler dev`.
 */
import { readdirSync, readFileSync } from "node:fs";

const clockTicks = 100; // getconf CLK_TCK on Linux
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return NaN;
  }
}
export function memoryKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}
/** Every process of this run's `wrangler dev` (found by its --persist-to under `work`): wrangler and its children. */
export function stackPids(work: string): { pid: number; cmd: string }[] {
  const procs = readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return { pid: Number(pid), ppid: Number(stat.split(") ")[1]?.split(" ")[1]), cmd: readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ") };
      } catch {
        return null;
      }
    })
    .filter((p): p is { pid: number; ppid: number; cmd: string } => p !== null);
  const ours = new Set(procs.filter((p) => p.cmd.includes("wrangler") && p.cmd.includes(work)).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!ours.has(p.pid) && ours.has(p.ppid)) ours.add(p.pid), (grew = true);
  }
  return procs.filter((p) => ours.has(p.pid));
}
/**
 * The workerd processes of this run's `wrangler dev`: the one listening on the API port is
 * wrangler's proxy in front of the other, which runs the Worker and its Durable Objects.
 */
export function workerdPids(work: string, apiUrl: string): { objects: number; proxy: number } {
  const workerds = stackPids(work).filter((p) => /workerd\S* serve/.test(p.cmd));
  const port = new URL(apiUrl).port;
  return {
    proxy: workerds.find((p) => p.cmd.includes(`entry=127.0.0.1:${port} `))?.pid ?? -1,
    objects: workerds.find((p) => !p.cmd.includes(`entry=127.0.0.1:${port} `))?.pid ?? -1,
  };
}
/** Samples a process's RSS every 200 ms until stopped; returns the highest sample in KB. */
export function sampleRss(pid: number): () => number {
  let peak = memoryKb(pid, "VmRSS");
  const timer = setInterval(() => (peak = Math.max(peak, memoryKb(pid, "VmRSS") || 0)), 200);
  return () => (clearInterval(timer), peak);
}
/** CPU seconds of a process's waited-for children (what `sh` and the commands it ran used). */
export function childrenCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[13]) + Number(fields[14])) / clockTicks;
  } catch {
    return NaN;
  }
}
