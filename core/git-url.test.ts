import { describe, expect, it } from "vitest";
import { checkGitUrl } from "./git-url.js";

describe("checkGitUrl", () => {
  it.each([
    ["https://github.com/acme/app.git", "https"],
    ["https://gitlab.example.com:8443/group/sub/app", "https"],
    ["ssh://git@github.com/acme/app.git", "ssh"],
    ["git@github.com:acme/app.git", "ssh"],
    ["file:///srv/git/app", "local"],
    ["/home/me/code/app", "local"],
    ["http://127.0.0.1:8080/acme/app.git", "local"],
    ["http://localhost/acme/app.git", "local"],
  ])("accepts %s as %s", (url, kind) => {
    expect(checkGitUrl(url)).toEqual({ ok: true, kind });
  });

  it.each([
    ["", "is empty"],
    ["ftp://example.com/repo", "uses the unsupported scheme ftp"],
    ["https://user:pw@github.com/acme/app", "must not carry credentials; store them as a project secret"],
    ["https://token@github.com/acme/app", "must not carry credentials; store them as a project secret"],
    ["https://github.com/", "has no repository path"],
    ["-uhelp", "must not start with '-'"],
    ["relative/path", "must be an https:// or ssh:// URL, user@host:path, file:// or an absolute path"],
    ["https://exa mple.com/x", "contains whitespace"],
    ["http://github.com/acme/app.git", "uses plain http; use https (http is accepted on loopback only)"],
    ["http://x-access-token:t@127.0.0.1/acme/app.git", "must not carry credentials; store them as a project secret"],
  ])("refuses %j", (url, reason) => {
    expect(checkGitUrl(url)).toEqual({ ok: false, reason });
  });
});
