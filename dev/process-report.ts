/**
 * What the processes of a stack are doing, read from /proc (Linux; elsewhere it reports
 * nothing): for the report a test prints when the stack stops answering, so a stall says
 * whether workerd was busy, waiting in the kernel, or idle.
 */
import { readdirSync, readFileSync } from "node:fs";

/** The live (not zombie) processes of a process group. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") members.push(Number(entry));
    } catch {
      // It exited while we looked.
    }
  }
  return members;
}

/** CPU seconds per clock tick: Linux's USER_HZ is 100 on every architecture Node runs on. */
const tickSeconds = 0.01;

/**
 * One line per process of the group: name, state (R running, S sleeping, D in uninterruptible
 * I/O), the kernel function it waits in, user and system CPU seconds, and resident memory.
 */
export function processReport(pgid: number): string[] {
  return groupMembers(pgid).map((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // After "pid (comm) ": state is field 0, utime 11 and stime 12 (proc(5), counted from 3).
      const [state, utime, stime] = [fields[0], Number(fields[11]), Number(fields[12])];
      const wchan = readFileSync(`/proc/${pid}/wchan`, "utf8").trim() || "-";
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      const cpu = `user ${(utime * tickSeconds).toFixed(1)} s, system ${(stime * tickSeconds).toFixed(1)} s`;
      return `${comm}[${pid}] state ${state}, waiting in ${wchan}, ${cpu}, rss ${rss ? Math.round(Number(rss) / 1024) : "?"} MiB`;
    } catch {
      return `[${pid}] exited`;
    }
  });
}
