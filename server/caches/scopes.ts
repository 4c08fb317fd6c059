/**
 * Where a build's dependency caches are read and written. A build reads its own branch (or
 * pull request) first, then the project's default branch; it writes only its own. So a pull
 * request, a fork's included, warms itself from its base but can never change what the default
 * branch's builds restore: the server decides the scope from the build's row, never the runner.
 * Pull requests read the default branch as their base (builds do not record a PR's base branch).
 */

/** What a build is, as far as its cache scopes go. */
export interface ScopeSource {
  branch: string | null;
  tag: string | null;
  pullRequest: number | null;
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
  const base = branchScope(build.defaultBranch);
  return { write, read: write === base ? [write] : [write, base] };
}
