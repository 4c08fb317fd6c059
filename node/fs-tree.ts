import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { FileTree } from "../core/detect/tree.ts";
import type { Dirent, Stats } from "node:fs";

/** Folders that never hold a project's own manifests and can be huge. */
const IGNORED = new Set([
  "node_modules",
  ".git",
  ".hg",
  ".svn",
  ".next",
  ".nuxt",
  ".svelte-kit",
  ".turbo",
  ".cache",
  "target",
  "vendor",
  "__pycache__",
  ".venv",
  "venv",
]);

/** Options for {@link fsTree}. */
export interface FsTreeOptions {
  /** Deepest folder level listed (root = 0); manifests live near the top. */
  maxDepth?: number;
  /** Stop listing after this many files, so a huge checkout cannot stall detection. */
  maxFiles?: number;
  /** Files larger than this read as null: manifests are small. */
  maxFileBytes?: number;
}

/** Thrown when the root folder is missing or unreadable: a user error, not a bug. */
export class TreeRootError extends Error {
  override readonly name = "TreeRootError";
}

/**
 * A FileTree over a local folder, for the CLI and tests. Lives outside core/
 * because core/ must not import node:fs.
 */
export async function fsTree(root: string, options: FsTreeOptions = {}): Promise<FileTree> {
  const { maxDepth = 6, maxFiles = 20_000, maxFileBytes = 2 * 1024 * 1024 } = options;
  let info: Stats;
  try {
    info = await stat(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TreeRootError(code === "ENOENT" ? `no such directory: ${root}` : `cannot read ${root} (${code ?? "error"})`, { cause: err });
  }
  if (!info.isDirectory()) throw new TreeRootError(`not a directory: ${root}`);
  try {
    await readdir(root);
  } catch (err) {
    throw new TreeRootError(`cannot read ${root} (${(err as NodeJS.ErrnoException).code ?? "error"})`, { cause: err });
  }

  const files: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // an unreadable subfolder is skipped, not fatal
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (files.length >= maxFiles) return;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!IGNORED.has(entry.name) && depth < maxDepth) await walk(full, depth + 1);
      } else if (entry.isFile()) {
        files.push(relative(root, full).split(sep).join("/"));
      }
    }
  };
  await walk(root, 0);
  files.sort();
  const listed = new Set(files);

  return {
    list: async () => files,
    read: async (path) => {
      // Only listed files are read: the tree never reaches outside the listing (no "../").
      if (!listed.has(path)) return null;
      try {
        const text = await readFile(join(root, ...path.split("/")), "utf8");
        return text.length > maxFileBytes ? null : text;
      } catch {
        return null;
      }
    },
  };
}
