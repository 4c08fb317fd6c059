/** Which URLs the GitLab clone credential may be sent to: exactly the project's own repository. */
import { describe, expect, it } from "vitest";
import { sameRepositoryUrl } from "./clone-credential.ts";

describe("sameRepositoryUrl", () => {
  it("ignores what git ignores: the host's case, .git and a trailing slash", () => {
    expect(sameRepositoryUrl("https://gitlab.com/acme/shop.git", "https://GitLab.com/acme/shop")).toBe(true);
    expect(sameRepositoryUrl("https://gitlab.com/acme/shop/", "https://gitlab.com/acme/shop.git")).toBe(true);
  });

  it("tells apart another scheme, host, port, path, a fork, a prefix and URLs with credentials", () => {
    const own = "https://gitlab.com/acme/shop.git";
    for (const other of [
      "http://gitlab.com/acme/shop.git",
      "https://gitlab.com.evil.test/acme/shop.git",
      "https://gitlab.com:8443/acme/shop.git",
      "https://gitlab.com/mallory/shop.git",
      "https://gitlab.com/acme/shop-other.git",
      "https://gitlab.com/acme/shop/extra.git",
      "https://user:pw@gitlab.com/acme/shop.git",
      "git@gitlab.com:acme/shop.git",
      "not a url",
    ])
      expect(sameRepositoryUrl(own, other), other).toBe(false);
  });
});
