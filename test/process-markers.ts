/**
 * Process markers: tests find a step's processes on the host by a unique argument (`sleep <marker>`),
 * since a sandboxed step's pids are its namespace's. A fixed number would also match a concurrent
 * suite's processes on the same machine (two clones testing at once), so each call draws new ones.
 */
import { randomInt } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

/** `count` distinct whole numbers, usable as `sleep` seconds, that no other run draws. */
export function processMarkers(count: number): string[] {
  // Leaves room for `count` after the base; ~10^9 values make a clash between two runs negligible.
  const base = randomInt(100_000_000, 1_000_000_000);
  return Array.from({ length: count }, (_, i) => String(base + i));
}

/** Host pids of the live processes (zombies excluded) whose argv holds `marker` as one argument. */
export function hostPidsWithArg(marker: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(marker)) return false;
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return !/ Z /.test(stat.slice(stat.lastIndexOf(")")));
      } catch {
        return false; // it ended between the listing and the read
      }
    })
    .map(Number);
}
