import { describe, expect, it } from "vitest";
import { can, canAssignRole, permissions, roles } from "./rbac.js";

describe("permission matrix", () => {
  it("gives owners every permission and viewers only reads", () => {
    for (const p of permissions) expect(can("owner", p)).toBe(true);
    const viewerPerms = permissions.filter((p) => can("viewer", p));
    expect(viewerPerms).toEqual(["workspace:read", "members:read", "project:read"]);
  });

  it("lets only owners delete a workspace", () => {
    expect(roles.filter((r) => can(r, "workspace:delete"))).toEqual(["owner"]);
  });

  it("lets developers deploy and roll back, but only owners and admins approve a gated stage", () => {
    expect(roles.filter((r) => can(r, "deploy:trigger"))).toEqual(["owner", "admin", "developer"]);
    expect(roles.filter((r) => can(r, "deploy:approve"))).toEqual(["owner", "admin"]);
  });

  it("keeps a stage's deployment rules to owners and admins", () => {
    expect(roles.filter((r) => can(r, "deploy:configure"))).toEqual(["owner", "admin"]);
  });

  it("keeps push hooks to owners and admins", () => {
    expect(roles.filter((r) => can(r, "hooks:manage"))).toEqual(["owner", "admin"]);
    expect(roles.filter((r) => can(r, "notifications:manage"))).toEqual(["owner", "admin"]);
  });

  it("keeps audit logs to owners and admins", () => {
    expect(roles.filter((r) => can(r, "audit:read"))).toEqual(["owner", "admin"]);
  });

  it("lets developers create and edit projects but not delete them", () => {
    expect(can("developer", "project:create")).toBe(true);
    expect(can("developer", "project:update")).toBe(true);
    expect(can("developer", "project:delete")).toBe(false);
    expect(can("developer", "members:manage")).toBe(false);
  });

  it("stops admins from touching ownership", () => {
    expect(canAssignRole("admin", undefined, "developer")).toBe(true);
    expect(canAssignRole("admin", undefined, "owner")).toBe(false);
    expect(canAssignRole("admin", "owner", "admin")).toBe(false);
    expect(canAssignRole("admin", "owner", undefined)).toBe(false);
    expect(canAssignRole("owner", "owner", "viewer")).toBe(true);
    expect(canAssignRole("developer", undefined, "viewer")).toBe(false);
  });
});
