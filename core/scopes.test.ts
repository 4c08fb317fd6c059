import { describe, expect, it } from "vitest";
import { permissions } from "./rbac.ts";
import { scopeCovers, scopeOfMethod, scopeOfPermission } from "./scopes.ts";

describe("token scopes", () => {
  it("orders read < write < admin", () => {
    expect(scopeCovers("admin", "write")).toBe(true);
    expect(scopeCovers("write", "write")).toBe(true);
    expect(scopeCovers("write", "admin")).toBe(false);
    expect(scopeCovers("read", "write")).toBe(false);
  });

  it("gives a read token only the reading permissions", () => {
    const readable = permissions.filter((p) => scopeCovers("read", scopeOfPermission[p]));
    expect(readable.every((p) => p.endsWith(":read"))).toBe(true);
    expect(readable).toContain("project:read");
  });

  it("keeps administration out of write tokens", () => {
    for (const p of [
      "members:manage",
      "runners:manage",
      "hooks:manage",
      "notifications:manage",
      "secrets:write",
      "deploy:configure",
      "workspace:update",
      "workspace:delete",
      "deploy:approve",
    ] as const) {
      expect(scopeCovers("write", scopeOfPermission[p]), p).toBe(false);
    }
    expect(scopeCovers("write", scopeOfPermission["build:trigger"])).toBe(true);
  });

  it("needs write for every method that is not a read", () => {
    expect(scopeOfMethod("GET")).toBe("read");
    for (const m of ["POST", "PUT", "PATCH", "DELETE"]) expect(scopeOfMethod(m)).toBe("write");
  });
});
