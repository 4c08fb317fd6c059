/**
 * The file-tree interface the detector reads through. It is deliberately tiny so
 * that a Worker (files posted in a request), the runner (a clone) and the CLI (a
 * local folder) can each supply one without the detector importing any runtime.
 */
export interface FileTree {
  /**
   * Every file path in the tree, POSIX separators, relative to the root, without
   * a leading "./". Adapters skip dependency and VCS folders (node_modules, .git).
   */
  list(): Promise<readonly string[]>;
  /** A file's text, or `null` when it does not exist or cannot be read. */
  read(path: string): Promise<string | null>;
}

/** A FileTree over an in-memory map of path → content (API snapshots, tests). */
export function memoryTree(files: Readonly<Record<string, string>>): FileTree {
  const paths = Object.keys(files).sort();
  return {
    list: async () => paths,
    read: async (path) => (Object.hasOwn(files, path) ? (files[path] ?? null) : null),
  };
}

/** Joins repo-relative path segments, treating "." as the root. */
export function joinPath(dir: string, name: string): string {
  if (dir === "." || dir === "") return name;
  return `${dir}/${name}`;
}

/**
 * An indexed, read-caching view of a FileTree. Detection reads the same
 * manifests several times (package.json for the framework, scripts and engines),
 * so reads are memoised here instead of in every ecosystem module.
 */
export class TreeIndex {
  private readonly files: ReadonlySet<string>;
  private readonly children = new Map<string, string[]>();
  private readonly reads = new Map<string, Promise<string | null>>();

  private constructor(
    private readonly tree: FileTree,
    paths: readonly string[],
  ) {
    this.files = new Set(paths);
    for (const path of paths) {
      const slash = path.lastIndexOf("/");
      const dir = slash < 0 ? "." : path.slice(0, slash);
      const list = this.children.get(dir);
      if (list) list.push(path.slice(slash + 1));
      else this.children.set(dir, [path.slice(slash + 1)]);
    }
  }

  /** Lists the tree once and indexes it by directory. */
  static async of(tree: FileTree): Promise<TreeIndex> {
    return new TreeIndex(tree, await tree.list());
  }

  /** All file paths, sorted. */
  get paths(): string[] {
    return [...this.files].sort();
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** File names directly inside `dir` ("." for the root), sorted. */
  filesIn(dir: string): string[] {
    return [...(this.children.get(dir) ?? [])].sort();
  }

  /** Whether any file lives at or below `dir`. */
  hasDir(dir: string): boolean {
    const prefix = `${dir}/`;
    for (const path of this.files) if (path.startsWith(prefix)) return true;
    return false;
  }

  /** Sub-directory names directly inside `dir`, sorted. */
  dirsIn(dir: string): string[] {
    const prefix = dir === "." ? "" : `${dir}/`;
    const out = new Set<string>();
    for (const path of this.files) {
      if (!path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash > 0) out.add(rest.slice(0, slash));
    }
    return [...out].sort();
  }

  read(path: string): Promise<string | null> {
    if (!this.files.has(path)) return Promise.resolve(null);
    let pending = this.reads.get(path);
    if (!pending) {
      pending = this.tree.read(path).catch(() => null);
      this.reads.set(path, pending);
    }
    return pending;
  }

  /** Reads and parses JSON; `null` when absent or malformed (a broken manifest is not a crash). */
  async readJson(path: string): Promise<unknown> {
    const text = await this.read(path);
    if (text === null) return null;
    try {
      return JSON.parse(stripJsonComments(text)) as unknown;
    } catch {
      return null;
    }
  }
}

/**
 * Removes // and /* comments and trailing commas, which tsconfig-style files
 * (deno.jsonc, angular.json, bun.lock) allow. Strings are left untouched.
 */
function stripJsonComments(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const next = text[i + 1];
    if (inString) {
      out += ch;
      if (ch === "\\") {
        out += next ?? "";
        i++;
      } else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && next === "*") {
      i += 2;
      while (i < text.length && !(text[i] === "*" && text[i + 1] === "/")) i++;
      i++;
    } else out += ch;
  }
  return out.replace(/,(\s*[}\]])/g, "$1");
}
