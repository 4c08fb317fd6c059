/**
 * One checkout per repository, not per job: the runner keeps a bare mirror of each repository
 * under its work folder and fetches into it only what it lacks (git negotiates with what the
 * mirror has); each job's checkout is then a shallow local fetch from the mirror. The mirror itself
 * is not shallow: git cannot leave out what a shallow repository has (a depth-1 fetch sends the
 * whole tree again), so the first fetch brings the commit's history, once per runner, about what a
 * plan job's branch check fetched on every build before.
 *
 * A mirror is keyed by the repository URL *and* the job's `checkoutScope` (the project, set by the
 * server): objects fetched with one project's clone credential never serve another project's
 * job, even for the same URL. The credential itself goes to git as today (runner/git.ts: the
 * environment of the fetch alone), never into the mirror's config. Mirrors live in the work root,
 * which the sandbox hides from steps. Jobs of this runner take turns on a mirror (one lock per
 * mirror); a work folder belongs to one runner process.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readdir, rename, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { Repo } from "../core/contracts/runner.ts";
import { type CheckoutOptions, checkRepo, fetchCommit, hasCommit, must } from "./git.ts";

export interface MirrorOptions extends CheckoutOptions {
  /** The folder holding the mirrors (`<work>/mirrors`). */
  root: string;
  /** The job's `checkoutScope`: who may read what the mirror fetched. */
  scope: string;
}

/** The mirror folder of `url` for `scope`: a hash, so neither appears in a path. */
export function mirrorPath(root: string, url: string, scope: string): string {
  return join(root, `${createHash("sha256").update(scope).update("\0").update(url).digest("hex").slice(0, 40)}.git`);
}

const locks = new Map<string, Promise<unknown>>();

/** Runs `fn` when no other job of this process holds `key`. */
async function locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = locks.get(key) ?? Promise.resolve();
  const run = before.catch(() => undefined).then(fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  try {
    return await run;
  } finally {
    if (locks.get(key) === tail) locks.delete(key);
  }
}

/** Creates the bare mirror with `origin` set, atomically: a half-made one is never found. */
async function ensureMirror(path: string, url: string, opts: CheckoutOptions): Promise<void> {
  if (await stat(join(path, "HEAD")).catch(() => null)) return;
  const making = `${path}.new-${randomUUID()}`;
  try {
    await mkdir(making, { recursive: true });
    await must(["init", "--quiet", "--bare"], making, opts);
    await must(["remote", "add", "origin", url], making, opts);
    await rm(path, { recursive: true, force: true });
    await rename(making, path);
  } finally {
    await rm(making, { recursive: true, force: true });
  }
}

/**
 * Checks out `repo` into `dir` through the runner's mirror: the same checks and result as
 * {@link import("./git.ts").checkout}, and the same `origin` in the checkout. A steps job whose
 * commit the mirror already has fetches nothing from the remote; a plan job always asks the
 * remote (the branch's head, or whether the commit is on the branch, is decided there).
 */
export async function checkoutFromMirror(repo: Repo, dir: string, opts: MirrorOptions): Promise<string> {
  checkRepo(repo);
  const mirror = mirrorPath(opts.root, repo.url, opts.scope);
  await mkdir(opts.root, { recursive: true });
  const commit = await locked(mirror, async () => {
    await ensureMirror(mirror, repo.url, opts);
    const now = new Date();
    // Last use, for pruning mirrors nobody has used for long (pruneMirrors).
    await utimes(mirror, now, now).catch(() => undefined);
    if (repo.commitSha !== null && !opts.requireOnBranch && (await hasCommit(repo.commitSha, mirror, opts))) {
      opts.output.note(`sparki: commit ${repo.commitSha.slice(0, 12)} is in this runner's mirror of the repository; nothing fetched`);
      return repo.commitSha;
    }
    // Fetched by id, the commit gets a ref (refs/sparki/seen/<sha>); by branch, the branch's ref.
    return fetchCommit(repo, mirror, opts, false);
  });
  await mkdir(dir, { recursive: true });
  await must(["init", "--quiet"], dir, opts);
  await must(["remote", "add", "origin", repo.url], dir, opts);
  // file:// (not a plain path) so that --depth applies; no credential: the mirror is local.
  const { credential: _remoteOnly, ...local } = opts;
  await must(["fetch", "--quiet", "--no-tags", "--depth", "1", `file://${mirror}`, commit], dir, local);
  await must(["checkout", "--quiet", "--force", "--detach", commit], dir, opts);
  return commit;
}

/** Removes mirrors unused for `maxIdleMs` (a repository no job has built for weeks). */
export async function pruneMirrors(root: string, maxIdleMs: number, now = Date.now()): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const path = join(root, name);
    if (locks.has(path)) continue;
    const info = await stat(path).catch(() => null);
    if (!info || now - info.mtimeMs < maxIdleMs) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
