import type { DirContext } from "./app-builder.ts";

/** A version found for a runtime, and where. */
export interface VersionHit {
  version: string;
  file: string;
  reason: string;
}

/**
 * Reads a single-value version file such as .nvmrc or .python-version. Only the
 * first non-comment line counts, the way nvm and pyenv read them.
 */
export async function versionFile(ctx: DirContext, name: string): Promise<VersionHit | null> {
  const text = await ctx.read(name);
  if (text === null) return null;
  const line = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== "" && !l.startsWith("#"));
  if (!line) return null;
  return { version: line.replace(/^v(?=\d)/, ""), file: ctx.path(name), reason: `${name} pins ${line}` };
}

/** Looks `tools` (asdf/mise names, e.g. "nodejs", "node") up in .tool-versions. */
export async function toolVersions(ctx: DirContext, tools: readonly string[]): Promise<VersionHit | null> {
  const text = await ctx.read(".tool-versions");
  if (text === null) return null;
  for (const raw of text.split(/\r?\n/)) {
    const [tool, version] = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (tool && version && tools.includes(tool)) {
      return { version, file: ctx.path(".tool-versions"), reason: `.tool-versions pins ${tool} ${version}` };
    }
  }
  return null;
}

/** The first hit among sources tried in priority order. */
export async function firstVersion(sources: ReadonlyArray<() => Promise<VersionHit | null>>): Promise<VersionHit | null> {
  for (const source of sources) {
    const hit = await source();
    if (hit) return hit;
  }
  return null;
}

/** A regex capture from a file as a version hit (pom.xml, go.mod, mix.exs, …). */
export async function versionFromText(ctx: DirContext, name: string, pattern: RegExp, describe: (version: string) => string): Promise<VersionHit | null> {
  const text = await ctx.read(name);
  const version = text === null ? undefined : pattern.exec(text)?.[1];
  return version ? { version, file: ctx.path(name), reason: describe(version) } : null;
}
