/**
 * Branch filters, as sparki.yml's `branches` and the server's stage rules write them: an exact
 * branch name, or a glob where `*` matches within one path segment and `**` across segments.
 */

/** Whether a branch matches a filter entry: exact, or a glob with `*` (not crossing `/`) and `**`. */
export function branchMatches(pattern: string, branch: string): boolean {
  const regex = pattern
    .split("**")
    .map((part) =>
      part
        .split("*")
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^/]*"),
    )
    .join(".*");
  return new RegExp(`^${regex}$`).test(branch);
}

/**
 * Why a branch pattern is not acceptable, or null when it is. The rules are git's for ref names
 * (`git check-ref-format`) with `*` allowed as the glob: a pattern that no ref could ever match
 * is a typo the author should hear about, not a filter that silently matches nothing.
 */
export function branchPatternProblem(pattern: string): string | null {
  if (pattern.length === 0) return "is empty";
  if (pattern.length > 255) return "is longer than 255 characters";
  // Control characters (NUL included), space and git's forbidden characters, except the glob's `*`.
  if (/[\x00-\x20\x7f~^:?[\\]/.test(pattern)) return "has a character git does not allow in a branch name (space, control, ~ ^ : ? [ \\)";
  if (pattern.includes("..")) return 'has ".."';
  if (pattern.includes("@{")) return 'has "@{"';
  if (pattern.includes("//")) return 'has "//"';
  if (/^[-/.]/.test(pattern)) return "starts with -, / or .";
  if (/[/.]$/.test(pattern) || pattern.endsWith(".lock")) return "ends with /, . or .lock";
  if (pattern.split("/").some((segment) => segment.startsWith("."))) return "has a path segment starting with .";
  return null;
}

/**
 * Whether a push of `tag` builds under sparki.yml's `pipeline.tags`: left out (undefined), every
 * tag does; otherwise a tag an entry matches (a lone "*" is every tag, as for branches).
 */
export function tagBuilds(patterns: readonly string[] | undefined, tag: string): boolean {
  if (patterns === undefined) return true;
  return patterns.some((p) => p === "*" || branchMatches(p, tag));
}
