/**
 * A build's folder on this runner, kept from one of its jobs to the next: the plan job's checkout
 * serves the install job, and the install's `node_modules` (or `.venv`, `vendor/`) serves the
 * lint, test and build jobs that follow on this runner. One job holds it at a time; a job of the
 * same build that comes while it is held gets a folder of its own (a fresh clone from the mirror,
 * the install restored from the build-scoped entry), as a job on another runner does.
 *
 * The runner cannot know when a build ends, so disk use is bounded by count: after each job, every
 * build folder not held beyond the `keep` most recently used is removed. A build whose folder went
 * only loses the reuse, never correctness. What the runner remembers about a folder (the commit
 * checked out, the install done) is a file beside it, outside what steps can write.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

const State = z.object({
  /** The commit in `job/src`, null until a checkout finished there. */
  commit: z.string().nullable(),
  /** The key of the install result in place (runner/install-share.ts), null when none is. */
  installed: z.string().nullable(),
});
export type WorkspaceState = z.infer<typeof State>;

const EMPTY: WorkspaceState = { commit: null, installed: null };

/** A build folder held by one job until {@link BuildWorkspace.release}. */
export interface BuildWorkspace {
  /** The job folder: `src/` (the checkout) and `home/` (the steps' home when sandboxed). */
  dir: string;
  state: WorkspaceState;
  /** Records what the folder now holds. */
  save(state: WorkspaceState): Promise<void>;
  /** Forgets what the folder held and empties it (before a checkout that does not reuse it). */
  reset(): Promise<void>;
  release(): void;
}

export class Workspaces {
  private readonly held = new Set<string>();

  constructor(
    /** `<work>/builds`. */
    readonly root: string,
    /** Build folders kept when not held, most recently used first. */
    readonly keep = 2,
  ) {}

  /**
   * The build's folder, or null while another job of the build holds it. Keyed by the repository
   * and the checkout scope too, so that nothing but a job of the same build, project and
   * repository ever finds what an earlier job left.
   */
  async acquire(build: { buildId: string; url: string; scope: string | undefined }): Promise<BuildWorkspace | null> {
    const id = createHash("sha256").update(JSON.stringify([build.buildId, build.url, build.scope ?? null]));
    const base = join(this.root, id.digest("hex").slice(0, 32));
    if (this.held.has(base)) return null;
    this.held.add(base);
    try {
      const dir = join(base, "job");
      const stateFile = join(base, "state.json");
      await mkdir(dir, { recursive: true });
      const now = new Date();
      await utimes(base, now, now);
      const read = State.safeParse(JSON.parse((await readFile(stateFile, "utf8").catch(() => "null")) ?? "null"));
      const workspace: BuildWorkspace = {
        dir,
        state: read.success ? read.data : { ...EMPTY },
        save: async (state) => {
          workspace.state = state;
          await writeFile(stateFile, JSON.stringify(state));
        },
        reset: async () => {
          await workspace.save({ ...EMPTY });
          await rm(dir, { recursive: true, force: true });
          await mkdir(dir, { recursive: true });
        },
        release: () => void this.held.delete(base),
      };
      return workspace;
    } catch (err) {
      this.held.delete(base);
      throw err;
    }
  }

  /** Removes the folders of builds not held, beyond the `keep` most recently used. */
  async prune(): Promise<number> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const idle: { path: string; used: number }[] = [];
    for (const name of names) {
      const path = join(this.root, name);
      if (this.held.has(path)) continue;
      const info = await stat(path).catch(() => null);
      if (info) idle.push({ path, used: info.mtimeMs });
    }
    idle.sort((a, b) => b.used - a.used);
    const gone = idle.slice(this.keep);
    for (const { path } of gone) await rm(path, { recursive: true, force: true });
    return gone.length;
  }
}
