/**
 * Killing a step's whole process group. Steps run detached (their own group, id = the
 * shell's pid), so `kill(-pgid)` reaches every process they started, including background
 * children that would otherwise outlive the step and hold its output pipe open.
 *
 * A sandboxed step's group leader is bwrap, and its child is bwrap's init in the step's pid
 * namespace: when either dies the kernel SIGKILLs everything in the namespace. So the polite
 * SIGTERM goes to the step's own processes only, sparing those two, and the step keeps its
 * grace period to clean up; the SIGKILL goes to the whole group (bwrap included), which also
 * ends any process inside that left the group with setsid.
 */
import { readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

/** "pid (comm) state ppid pgrp ..." of /proc/PID/stat, or null when it is gone. */
function statOf(pid: string): { state: string; ppid: number; pgrp: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may hold spaces and parentheses: the fields start after the last ')'.
    const [state = "", ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state, ppid: Number(ppid), pgrp: Number(pgrp) };
  } catch {
    return null;
  }
}

/** The group's processes that still run (zombies left out), from /proc. */
function liveMembers(pgid: number): { pid: number; ppid: number }[] {
  const members: { pid: number; ppid: number }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(entry);
    if (stat && stat.pgrp === pgid && stat.state !== "Z") members.push({ pid: Number(entry), ppid: stat.ppid });
  }
  return members;
}

/**
 * Does any process of the group still run? A zombie does not count: bwrap's init in a step's
 * pid namespace exits after bwrap itself and is reparented to the host's init, which may reap
 * it late (or never, when the runner is pid 1 of a container), and it runs nothing.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    // EPERM: the group exists but we may not signal it (setuid child); treat as alive.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return process.platform !== "linux" || liveMembers(pgid).length > 0;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone, which is the goal.
  }
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (groupAlive(pgid)) {
    if (Date.now() >= until) return false;
    await sleep(50);
  }
  return true;
}

/**
 * SIGTERM to the group, then SIGKILL if anything is left after `graceMs` (so the whole
 * group is gone within graceMs + a moment: the default keeps cancel under 5 s). With
 * `spareLeader` (a sandboxed step) the SIGTERM skips bwrap's two processes, see above.
 */
export async function terminateGroup(pgid: number, graceMs = 3000, spareLeader = false): Promise<void> {
  if (!groupAlive(pgid)) return;
  // The group's own processes below bwrap and its init (the leader's child).
  const below = spareLeader ? liveMembers(pgid).filter((m) => m.pid !== pgid && m.ppid !== pgid) : [];
  // Nothing below bwrap yet (it is still setting up): nothing there needs a grace period.
  if (below.length > 0) {
    for (const { pid } of below) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // Gone already.
      }
    }
  } else signalGroup(pgid, "SIGTERM");
  if (await waitGone(pgid, graceMs)) return;
  signalGroup(pgid, "SIGKILL");
  await waitGone(pgid, 1000);
}

/** The shell convention for a process killed by a signal: 128 + its number. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal ? constants.signals[signal] : undefined;
  return 128 + (number ?? 0);
}
