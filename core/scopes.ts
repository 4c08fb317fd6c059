/**
 * API token scopes, and the one map from each permission of core/rbac.ts to the scope it
 * needs. A token acts with its owner's role in each workspace, narrowed by its scope: read
 * reads only; write does what building and deploying need; admin also changes who has access
 * and what credentials exist (members, tokens, runners, workspace settings, secrets, approvals).
 * Sessions (password login) act with the admin scope.
 */
import type { Permission } from "./rbac.js";

export const scopes = ["read", "write", "admin"] as const;
export type Scope = (typeof scopes)[number];

const rank: Record<Scope, number> = { read: 0, write: 1, admin: 2 };

/** The scope each permission needs: total, so a new permission cannot be forgotten here. */
export const scopeOfPermission: Record<Permission, Scope> = {
  "workspace:read": "read",
  "members:read": "read",
  "project:read": "read",
  "audit:read": "read",
  "project:create": "write",
  "project:update": "write",
  "project:delete": "write",
  "pipeline:write": "write",
  "build:trigger": "write",
  "deploy:trigger": "write",
  // An approval is a person's decision: automation holding a write token must not make it.
  "deploy:approve": "admin",
  // Deployment rules (approvals, branches) are a project's safety settings.
  "deploy:configure": "admin",
  "workspace:update": "admin",
  "workspace:delete": "admin",
  "members:manage": "admin",
  // Secrets are credentials: replacing one redirects what a deployment authenticates as.
  "secrets:write": "admin",
  "runners:manage": "admin",
  // A push hook's key is a credential that starts builds.
  "hooks:manage": "admin",
  // A channel's URL and signing key are credentials, and where the project's news goes.
  "notifications:manage": "admin",
};

/** Whether a caller holding `held` may act where `needed` is required. */
export function scopeCovers(held: Scope, needed: Scope): boolean {
  return rank[held] >= rank[needed];
}

/** The scope an HTTP method needs at the least: any write needs write. */
export function scopeOfMethod(method: string): Scope {
  return method === "GET" || method === "HEAD" || method === "OPTIONS" ? "read" : "write";
}
