/**
 * One stack per state directory: two `npm run dev` in the same checkout would share PGlite's
 * files, the dev secrets and the local runner's registration, and each would break the other.
 * The lock is a pid file; one whose process is gone (a stack killed with SIGKILL, a reboot) or is
 * not Node is stale and taken over.
 */
import { existsSync, linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export class StateLockedError extends Error {
  override readonly name = "StateLockedError";
}

export interface StateLock {
  file: string;
  release(): void;
}

/** Is a process with this pid running (a zombie counts: it is on its way out, not running a stack)? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists and belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Could the process be a stack? After a reboot the file's pid may belong to anything; on Linux
 * its command line says whether it is Node at all. Elsewhere (no /proc) a live pid counts.
 */
function runsNode(pid: number): boolean {
  try {
    return /node|tsx/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ENOENT" || !existsSync("/proc/self");
  }
}

function holder(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Takes the state directory's lock for this process, or throws {@link StateLockedError} naming the holder. */
export function lockStateDir(stateDir: string): StateLock {
  const file = join(stateDir, "stack.pid");
  // Written whole first, then linked into place: link fails if the lock exists, so the lock
  // file never exists half-written.
  const mine = `${file}.${process.pid}`;
  writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(mine, file);
        return {
          file,
          release: () => {
            if (holder(file) === process.pid) rmSync(file, { force: true });
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const pid = holder(file);
      if (pid !== null && alive(pid) && runsNode(pid)) {
        throw new StateLockedError(
          `another local stack (pid ${pid}) is already running from ${stateDir}; use that one, or stop it first (Ctrl-C in its terminal, or kill ${pid})`,
        );
      }
      // Stale: its process is gone (killed, or the machine restarted and the pid is another
      // program's). Removed only if it still
      // names that process, so a stack that took it over meanwhile keeps its lock.
      if (holder(file) === pid) rmSync(file, { force: true });
    }
  } finally {
    rmSync(mine, { force: true });
  }
  throw new StateLockedError(`could not take the lock ${file}: other stacks keep taking it; is another local stack starting from ${stateDir}?`);
}
