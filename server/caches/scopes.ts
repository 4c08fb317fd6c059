/**
 * Where a build's dependency caches are read and written. A build reads its own branch (or
 * pull request) first, then the project's default branch; it writes only its own. So a pull
 * request, a fork's included, warms itself from its base branch (then the default branch) but can
 * never change what those branches' builds restore: the server decides the scope from the build's
 * row, never the runner.
 */

/** What a build is, as far as its cache scopes go. */
export interface ScopeSource {
  branch: string | null;
  tag: string | null;
  pullRequest: number | null;
  /** The branch a pull request targets (null when unknown, or not a pull request). */
  baseBranch: string | null;
  defaultBranch: string;
}

export interface CacheScopes {
  /** Where a save of this build goes. */
  write: string;
  /** Where a lookup searches, in order of preference. */
  read: string[];
}

export const branchScope = (branch: string) => `branch:${branch}`;

/** The scopes of one build. */
export function cacheScopes(build: ScopeSource): CacheScopes {
  const write =
    build.pullRequest !== null ? `pr:${build.pullRequest}` : build.tag !== null ? `tag:${build.tag}` : branchScope(build.branch ?? build.defaultBranch);
  const bases = [build.pullRequest !== null && build.baseBranch ? build.baseBranch : null, build.defaultBranch].filter((b) => b !== null);
  return { write, read: [...new Set([write, ...bases.map(branchScope)])] };
}
