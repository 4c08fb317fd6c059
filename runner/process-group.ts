/**
 * Killing a step's whole process group. Steps run detached (their own group, id = the
 * shell's pid), so `kill(-pgid)` reaches every process they started, including background
 * children that would otherwise outlive the step and hold its output pipe open.
 */
import { constants } from "node:os";
import { sleep } from "./backoff.ts";

/** Does any process of the group still exist? */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    // EPERM: the group exists but we may not signal it (setuid child); treat as alive.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
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
 * group is gone within graceMs + a moment: the default keeps cancel under 5 s).
 */
export async function terminateGroup(pgid: number, graceMs = 3000): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, "SIGTERM");
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
