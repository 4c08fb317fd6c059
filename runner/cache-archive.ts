/**
 * A dependency cache as one gzipped tar: every cached folder is stored under the root it lives
 * in, `home/…` (the home the steps see) or `src/…` (the checkout), so one archive restores into
 * both. Paths are kept inside those roots both ways: a path (or a symlink on the way) that leads
 * elsewhere is not packed, and on restore only entries inside the job's own cache paths are
 * written, never a link that points out of its root, a device or a '..' (node-tar refuses those
 * and writing through a symlink besides).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, realpath } from "node:fs/promises";
import { isAbsolute, posix, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { create as createTar, extract as extractTar, type ReadEntry } from "tar";

export type CacheRoot = "home" | "src";
export type CacheRoots = Readonly<Record<CacheRoot, string>>;

/** A cache path resolved against its root: `~/.npm` → home, `.npm`. */
export interface ResolvedCachePath {
  root: CacheRoot;
  /** Relative to the root, '/'-separated, "." for the whole root. */
  rel: string;
}

/** Where a cache path lives, or why it is refused (the contract refuses these too; this is the runner's own check). */
export function resolveCachePath(path: string): ResolvedCachePath | { problem: string } {
  const [root, rest] = path === "~" ? (["home", "."] as const) : path.startsWith("~/") ? (["home", path.slice(2)] as const) : (["src", path] as const);
  if (rest.includes("\\") || rest.includes("\0")) return { problem: "contains a backslash or NUL" };
  if (posix.isAbsolute(rest)) return { problem: "is absolute: cache paths are in the home or the checkout" };
  const rel = posix.normalize(rest).replace(/\/+$/, "") || ".";
  if (rel === ".." || rel.startsWith("../")) return { problem: "leads outside the home or the checkout" };
  return { root, rel };
}

const inside = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
};

/** Passes over the folders before a file that keeps vanishing fails the save. */
const PACK_ATTEMPTS = 3;

/**
 * Packs the cache paths that exist into `file`; returns the archive names packed and the paths
 * skipped with why (missing paths are left out silently: nothing was installed there).
 */
export async function packCache(roots: CacheRoots, paths: readonly ResolvedCachePath[], file: string): Promise<{ packed: string[]; skipped: string[] }> {
  const realRoots = { home: await realpath(roots.home), src: await realpath(roots.src) };
  const packed: string[] = [];
  const skipped: string[] = [];
  const sources: { real: string; name: string }[] = [];
  for (const p of paths) {
    const name = p.rel === "." ? p.root : `${p.root}/${p.rel}`;
    const abs = posix.join(realRoots[p.root], p.rel);
    if (!(await lstat(abs).catch(() => null))) continue;
    const real = await realpath(abs).catch(() => null);
    if (real === null || !inside(realRoots[p.root], real) || real !== abs) {
      skipped.push(`${name} (a symlink)`);
      continue;
    }
    sources.push({ real, name });
    packed.push(name);
  }
  if (sources.length === 0) return { packed, skipped };
  // Entries are read from their real places and named by root in the archive (onWriteEntry
  // renames the header only), so folders from two roots go into one tar in one pass.
  const rename = (absolute: string) => {
    for (const s of sources) if (absolute === s.real || absolute.startsWith(`${s.real}/`)) return s.name + absolute.slice(s.real.length);
    return null;
  };
  const pack = () =>
    createTar(
      {
        gzip: { level: 1 },
        cwd: "/",
        portable: true,
        onWriteEntry: (entry) => {
          entry.path = rename(entry.absolute) ?? entry.path;
          if (entry.type === "Link" && entry.linkpath) entry.linkpath = rename(`/${entry.linkpath}`) ?? entry.linkpath;
        },
      },
      sources.map((s) => s.real.slice(1)),
    );
  // An unsandboxed runner caches the home its user shares: another npm renaming its temporary
  // files out of ~/.npm while a pass reads the folder spoils that pass (tar stops at the first
  // file gone), not the save. A pass reads the folder afresh, so the next one packs what is there.
  for (let attempt = 1; ; attempt++) {
    try {
      await pipeline(pack(), createWriteStream(file));
      return { packed, skipped };
    } catch (err) {
      if (attempt >= PACK_ATTEMPTS || (err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}

const WRITABLE = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

/** Why an archive entry is not restored, or null to restore it under `root`. */
export function refusedEntry(entry: Pick<ReadEntry, "path" | "type" | "linkpath">, root: CacheRoot, allowed: readonly string[]): string | null {
  const path = entry.path.replace(/\/+$/, "");
  const [first, ...rest] = path.split("/");
  if (first !== root) return "another root";
  const rel = rest.join("/") || ".";
  if (rest.includes("..") || rel.startsWith("/")) return "a '..' path";
  const cached = (p: string) => allowed.some((a) => a === "." || p === a || p.startsWith(`${a}/`));
  if (!cached(rel)) return "outside the job's cache paths";
  if (!WRITABLE.has(entry.type)) return `a ${entry.type} entry`;
  const link = entry.linkpath ?? "";
  if (entry.type === "SymbolicLink") {
    if (posix.isAbsolute(link)) return "a symlink to an absolute path";
    const target = posix.normalize(posix.join(posix.dirname(rel), link));
    if (target === ".." || target.startsWith("../")) return "a symlink out of its root";
    // Within the root but beside the cache (~/.ssh): a later save would not follow it, but a step would.
    if (!cached(target)) return "a symlink out of the job's cache paths";
  }
  if (entry.type === "Link") {
    const target = posix.normalize(link);
    if (!target.startsWith(`${root}/`) || target.split("/").includes("..")) return "a hard link out of its root";
    // A hard link to ~/.ssh/id_rsa would put that file's bytes in the next save of the cache.
    if (!cached(target.slice(root.length + 1))) return "a hard link out of the job's cache paths";
  }
  return null;
}

/**
 * Restores an archive into the roots, keeping only entries inside `paths`; returns what was
 * refused (for a warning). Throws when the archive is not a gzipped tar, partway through.
 */
export async function unpackCache(file: string, roots: CacheRoots, paths: readonly ResolvedCachePath[]): Promise<{ refused: string[] }> {
  const refused: string[] = [];
  for (const root of ["home", "src"] as const) {
    const allowed = paths.filter((p) => p.root === root).map((p) => p.rel);
    if (allowed.length === 0) continue;
    await mkdir(roots[root], { recursive: true });
    await pipeline(
      createReadStream(file),
      extractTar({
        cwd: roots[root],
        strip: 1,
        strict: true,
        filter: (path, entry) => {
          const why = refusedEntry({ path, type: (entry as ReadEntry).type, linkpath: (entry as ReadEntry).linkpath }, root, allowed);
          if (why && why !== "another root") refused.push(`${path}: ${why}`);
          return why === null;
        },
      }),
    );
  }
  return { refused };
}
