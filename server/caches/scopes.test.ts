import { describe, expect, it } from "vitest";
import { cacheScopes } from "./scopes.ts";

const build = { branch: null, tag: null, pullRequest: null, baseBranch: null, defaultBranch: "main" };

describe("cache scopes", () => {
  it("reads a branch's own entries, then the default branch's, and writes only its own", () => {
    expect(cacheScopes({ ...build, branch: "feature/x" })).toEqual({ write: "branch:feature/x", read: ["branch:feature/x", "branch:main"] });
    expect(cacheScopes({ ...build, branch: "main" })).toEqual({ write: "branch:main", read: ["branch:main"] });
  });

  it("gives a pull request its own scope, reading its base branch, then the default branch", () => {
    expect(cacheScopes({ ...build, branch: "main", pullRequest: 7, baseBranch: "release" })).toEqual({
      write: "pr:7",
      read: ["pr:7", "branch:release", "branch:main"],
    });
    // A head branch named like the base changes nothing: the pull request still writes only pr:7.
    expect(cacheScopes({ ...build, branch: "main", pullRequest: 7, baseBranch: "main" })).toEqual({ write: "pr:7", read: ["pr:7", "branch:main"] });
    expect(cacheScopes({ ...build, branch: "x", pullRequest: 8 })).toEqual({ write: "pr:8", read: ["pr:8", "branch:main"] });
  });

  it("writes a tag build's entries under its tag", () => {
    expect(cacheScopes({ ...build, tag: "v1.0.0" })).toEqual({ write: "tag:v1.0.0", read: ["tag:v1.0.0", "branch:main"] });
  });
});
