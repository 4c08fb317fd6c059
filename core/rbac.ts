/**
 * Roles and the one permission matrix that every route consults.
 * A role's permissions are listed explicitly (no inheritance) so that reading one row tells
 * the whole story of what that role may do.
 */
export const roles = ["owner", "admin", "developer", "viewer"] as const;
export type Role = (typeof roles)[number];

export const permissions = [
  "workspace:read",
  "workspace:update",
  "workspace:delete",
  "members:read",
  "members:manage",
  "project:read",
  "project:create",
  "project:update",
  "project:delete",
  "pipeline:write",
  "build:trigger",
  "deploy:trigger",
  "deploy:approve",
  "deploy:configure",
  "secrets:write",
  "runners:manage",
  "hooks:manage",
  "notifications:manage",
  "audit:read",
] as const;
export type Permission = (typeof permissions)[number];

const read: Permission[] = ["workspace:read", "members:read", "project:read"];

const matrix: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set(permissions),
  admin: new Set<Permission>([
    ...read,
    "workspace:update",
    "members:manage",
    "project:create",
    "project:update",
    "project:delete",
    "pipeline:write",
    "build:trigger",
    "deploy:trigger",
    "deploy:approve",
    // Stage rules (approval, branches, approvers): a developer who could set them could lift them.
    "deploy:configure",
    "secrets:write",
    "runners:manage",
    // A push hook's key starts builds of any commit on any branch without a login.
    "hooks:manage",
    // A channel's URL receives what the project's builds and deployments do.
    "notifications:manage",
    "audit:read",
  ]),
  // Developers deploy, cancel and roll back; approving a gated stage takes an admin or owner.
  developer: new Set<Permission>([...read, "project:create", "project:update", "pipeline:write", "build:trigger", "deploy:trigger", "secrets:write"]),
  viewer: new Set<Permission>(read),
};

/** Whether `role` grants `permission`. */
export function can(role: Role, permission: Permission): boolean {
  return matrix[role].has(permission);
}

/**
 * Whether an actor may give `target` to a member who now has `current` (undefined for a new
 * member). Admins manage members but never create, change or remove owners: only an owner
 * can hand out or take away ownership.
 */
export function canAssignRole(actor: Role, current: Role | undefined, target: Role | undefined): boolean {
  if (!can(actor, "members:manage")) return false;
  if (actor === "owner") return true;
  return current !== "owner" && target !== "owner";
}
