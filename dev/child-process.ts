/** Stopping the stack's children (wrangler, the local runner) with everything they started. */
import type { ChildProcess } from "node:child_process";

/** SIGTERM to the child's process group (it was spawned detached), SIGKILL after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  if (child.exitCode !== null || child.signalCode !== null) {
    // It is gone, but what it started may not be (workerd under a killed wrangler).
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // nothing left
    }
    return;
  }
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}
