/**
 * The system of record. Tables and indexes follow the seed's data model; memberships,
 * refresh_tokens and api_tokens are Sparki's additions for tenancy and auth.
 * Migrations in migrations/ are generated from this file by drizzle-kit; never edit them.
 */
import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uniqueIndex, uuid, varchar } from "drizzle-orm/pg-core";

const id = () => uuid("id").primaryKey().defaultRandom();
const createdAt = () => timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow();

export const users = pgTable("users", {
  id: id(),
  email: varchar("email", { length: 255 }).notNull().unique(),
  name: varchar("name", { length: 255 }),
  // Null for an account made by signing in with GitHub or GitLab (user_identities).
  passwordHash: varchar("password_hash", { length: 255 }),
  emailVerified: boolean("email_verified").notNull().default(false),
  // Access tokens issued before this instant are refused (password change, "log out everywhere").
  sessionsRevokedAt: timestamp("sessions_revoked_at", { withTimezone: true }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const workspaces = pgTable(
  "workspaces",
  {
    id: id(),
    name: varchar("name", { length: 255 }).notNull(),
    slug: varchar("slug", { length: 255 }).notNull().unique(),
    ownerId: uuid("owner_id").references(() => users.id, { onDelete: "set null" }),
    // Which of the workspace's jobs the instance's shared runner pool may take: none, only jobs that
    // carry no secrets (the default), or all of them.
    sharedRunners: varchar("shared_runners", { length: 20 }).notNull().default("no-secrets"),
    // Whether a GitHub pull request from a fork builds with the project's secrets and deploys; off, a
    // fork's build is `untrusted` (no secrets, no deployments), since anyone can open one.
    trustForkPullRequests: boolean("trust_fork_pull_requests").notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check("workspaces_shared_runners_check", sql`${t.sharedRunners} in ('never', 'no-secrets', 'always')`)],
);

/**
 * How long a workspace keeps each kind of data, where it differs from the defaults
 * (core/contracts/retention.ts). One row per kind, so a new kind (build caches) is a new value
 * of `kind`, not a new column.
 */
export const workspaceRetention = pgTable(
  "workspace_retention",
  {
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    kind: varchar("kind", { length: 20 }).notNull(),
    days: integer("days").notNull(),
    updatedBy: uuid("updated_by").references(() => users.id, { onDelete: "set null" }),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.kind] }),
    check("workspace_retention_kind_check", sql`${t.kind} in ('logs', 'artifacts', 'caches', 'sites')`),
    check("workspace_retention_days_check", sql`${t.days} between 1 and 3650`),
  ],
);

export const memberships = pgTable(
  "memberships",
  {
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: varchar("role", { length: 20 }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.userId] }),
    index("idx_memberships_user").on(t.userId),
    check("memberships_role_check", sql`${t.role} in ('owner', 'admin', 'developer', 'viewer')`),
  ],
);

export const projects = pgTable(
  "projects",
  {
    id: id(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 255 }).notNull(),
    gitUrl: varchar("git_url", { length: 2048 }).notNull(),
    defaultBranch: varchar("default_branch", { length: 255 }).notNull().default("main"),
    framework: varchar("framework", { length: 50 }),
    language: varchar("language", { length: 50 }),
    // Set when the project was imported from GitHub: the installation that reaches the repository and
    // the repository's id (stable across renames) and full name (for the API's paths).
    githubInstallationId: bigint("github_installation_id", { mode: "number" }),
    githubRepositoryId: bigint("github_repository_id", { mode: "number" }),
    githubFullName: varchar("github_full_name", { length: 255 }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("idx_projects_workspace").on(t.workspaceId),
    // A GitHub event names a repository id: which projects build it.
    index("idx_projects_github_repository").on(t.githubRepositoryId),
    // Serves the newest-first cursor pagination of a workspace's projects.
    index("idx_projects_workspace_page").on(t.workspaceId, t.createdAt.desc(), t.id.desc()),
    uniqueIndex("uq_projects_workspace_name").on(t.workspaceId, t.name),
  ],
);

export const pipelines = pgTable(
  "pipelines",
  {
    id: id(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 255 }).notNull(),
    configuration: jsonb("configuration").notNull(),
    version: integer("version").notNull().default(1),
    // SHA-256 of the canonical configuration: a new version is written only when it differs.
    contentHash: varchar("content_hash", { length: 64 }).notNull(),
    // What produced this version: a detection snapshot, a sparki.yml edit, or a runner's plan step.
    source: varchar("source", { length: 20 }).notNull(),
    detection: jsonb("detection"),
    sparkiYml: text("sparki_yml"),
    // R2 key of the file snapshot the detection ran on, so a sparki.yml edit can be applied to it.
    snapshotKey: varchar("snapshot_key", { length: 255 }),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("idx_pipelines_project").on(t.projectId),
    check("pipelines_source_check", sql`${t.source} in ('detect', 'sparki.yml', 'upload')`),
    uniqueIndex("uq_pipelines_project_version").on(t.projectId, t.version),
  ],
);

export const builds = pgTable(
  "builds",
  {
    id: id(),
    // Null until the plan step has uploaded the pipeline this build runs.
    pipelineId: uuid("pipeline_id").references(() => pipelines.id, { onDelete: "cascade" }),
    projectId: uuid("project_id").references(() => projects.id, { onDelete: "cascade" }),
    number: integer("number"),
    commitSha: varchar("commit_sha", { length: 64 }),
    // Null for a tag build, which names its tag instead (the pushed tag's commit is in commit_sha).
    branch: varchar("branch", { length: 255 }),
    tag: varchar("tag", { length: 255 }),
    status: varchar("status", { length: 50 }),
    attempt: integer("attempt").notNull().default(1),
    trigger: varchar("trigger", { length: 20 }),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    // Code nobody trusted wrote (a pull request from a fork): its jobs get no secrets and it deploys nothing.
    untrusted: boolean("untrusted").notNull().default(false),
    // The GitHub pull request the build is for (head sha in commit_sha), null for a branch build.
    pullRequest: integer("pull_request"),
    // The branch the pull request targets: its builds restore that branch's dependency caches.
    baseBranch: varchar("base_branch", { length: 255 }),
    // The group a newer build cancels this one in (project + branch or pull request), null when
    // it takes no part (server/use-cases/supersede-builds.ts).
    supersedeKey: varchar("supersede_key", { length: 400 }),
    error: varchar("error", { length: 2000 }),
    startedAt: timestamp("started_at", { withTimezone: true }),
    completedAt: timestamp("completed_at", { withTimezone: true }),
    // When retention deleted the build's log and its artifacts (server/retention/); null while kept.
    logsExpiredAt: timestamp("logs_expired_at", { withTimezone: true }),
    artifactsExpiredAt: timestamp("artifacts_expired_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    index("idx_builds_pipeline").on(t.pipelineId),
    // The retention sweep walks finished builds whose data is still kept, oldest first.
    index("idx_builds_logs_kept").on(t.completedAt).where(sql`${t.logsExpiredAt} is null and ${t.completedAt} is not null`),
    index("idx_builds_artifacts_kept").on(t.completedAt).where(sql`${t.artifactsExpiredAt} is null and ${t.completedAt} is not null`),
    index("idx_builds_project_page").on(t.projectId, t.createdAt.desc(), t.id.desc()),
    uniqueIndex("uq_builds_project_number").on(t.projectId, t.number),
    // A trigger's lookup of the older builds it supersedes: only unfinished ones are indexed.
    index("idx_builds_supersede").on(t.supersedeKey, t.number).where(sql`${t.supersedeKey} is not null and ${t.status} in ('queued', 'running')`),
  ],
);

/** A build's jobs and their steps, as the BuildCoordinator last reported them. */
export const jobs = pgTable(
  "jobs",
  {
    // `<build id>.<n>`: the id names its build, so runner calls find the build's coordinator.
    id: varchar("id", { length: 128 }).primaryKey(),
    buildId: uuid("build_id")
      .notNull()
      .references(() => builds.id, { onDelete: "cascade" }),
    key: varchar("key", { length: 64 }).notNull(),
    name: varchar("name", { length: 255 }).notNull(),
    kind: varchar("kind", { length: 10 }).notNull(),
    status: varchar("status", { length: 20 }).notNull(),
    exitCode: integer("exit_code"),
    runnerId: uuid("runner_id"),
    attempt: integer("attempt").notNull().default(0),
    steps: jsonb("steps").notNull().default([]),
    startedAt: timestamp("started_at", { withTimezone: true }),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [index("idx_jobs_build").on(t.buildId)],
);

/**
 * Dependency caches (runner/cache.ts): one compressed tar in R2 per row, under the project
 * (server/r2-keys.ts cacheEntryKey, by the row's id). `scope` is where a build may read and write it
 * (`branch:<name>`, `pr:<number>`, `tag:<name>`, server/caches/scopes.ts); a key is unique per scope.
 * `last_used_at` orders least-recently-used eviction under the project's cap.
 */
export const cacheEntries = pgTable(
  "cache_entries",
  {
    id: id(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    scope: varchar("scope", { length: 300 }).notNull(),
    key: varchar("key", { length: 512 }).notNull(),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    sha256: varchar("sha256", { length: 64 }).notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("uq_cache_entries_project_scope_key").on(t.projectId, t.scope, t.key),
    index("idx_cache_entries_project_used").on(t.projectId, t.lastUsedAt),
  ],
);

/** Runner agents. A null workspace means the instance's shared pool. */
export const runners = pgTable(
  "runners",
  {
    id: id(),
    workspaceId: uuid("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 64 }).notNull(),
    labels: jsonb("labels").notNull().default([]),
    version: varchar("version", { length: 64 }).notNull(),
    tokenHash: varchar("token_hash", { length: 64 }).notNull().unique(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index("idx_runners_workspace").on(t.workspaceId)],
);

/** Tokens a workspace hands to its hosts so their runners can register. */
export const runnerRegistrationTokens = pgTable(
  "runner_registration_tokens",
  {
    id: id(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 100 }).notNull(),
    prefix: varchar("prefix", { length: 16 }).notNull(),
    tokenHash: varchar("token_hash", { length: 64 }).notNull().unique(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
  },
  (t) => [index("idx_runner_registration_tokens_workspace").on(t.workspaceId)],
);

/**
 * A deployment as the API names it: one request to put a build on its stages, driven by one
 * DeploymentOrchestrator. A green build of a deploying branch makes one ("push"; at most one per
 * build), `POST /v1/builds/:id/deploy` makes more ("manual"), a green build of an open pull
 * request its preview ("preview", on the stage `pr-<number>` alone).
 */
export const releases = pgTable(
  "releases",
  {
    id: id(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    buildId: uuid("build_id")
      .notNull()
      .references(() => builds.id, { onDelete: "cascade" }),
    status: varchar("status", { length: 30 }).notNull(),
    reason: varchar("reason", { length: 2000 }),
    trigger: varchar("trigger", { length: 10 }).notNull(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    completedAt: timestamp("completed_at", { withTimezone: true }),
    // When retention deleted the release's published site (server/retention/); null while kept.
    siteExpiredAt: timestamp("site_expired_at", { withTimezone: true }),
  },
  (t) => [
    index("idx_releases_site_kept").on(t.completedAt).where(sql`${t.siteExpiredAt} is null and ${t.completedAt} is not null`),
    index("idx_releases_project_page").on(t.projectId, t.createdAt.desc(), t.id.desc()),
    uniqueIndex("uq_releases_push_build").on(t.buildId).where(sql`${t.trigger} = 'push'`),
    check("releases_trigger_check", sql`${t.trigger} in ('push', 'manual', 'preview')`),
  ],
);

/** One row per stage attempt of a release (the seed's deployments table, with the stage's progress). */
export const deployments = pgTable(
  "deployments",
  {
    id: id(),
    buildId: uuid("build_id").references(() => builds.id, { onDelete: "cascade" }),
    releaseId: uuid("release_id").references(() => releases.id, { onDelete: "cascade" }),
    projectId: uuid("project_id").references(() => projects.id, { onDelete: "cascade" }),
    position: integer("position").notNull().default(0),
    stage: varchar("stage", { length: 50 }),
    status: varchar("status", { length: 50 }),
    platform: varchar("platform", { length: 50 }),
    strategy: varchar("strategy", { length: 50 }),
    approval: boolean("approval").notNull().default(false),
    approvedBy: uuid("approved_by").references(() => users.id, { onDelete: "set null" }),
    approvedAt: timestamp("approved_at", { withTimezone: true }),
    // The platform's id of what this attempt deployed (for sparki-static, the release id).
    platformDeploymentId: varchar("platform_deployment_id", { length: 255 }),
    url: varchar("url", { length: 2000 }),
    trafficPercent: integer("traffic_percent").notNull().default(0),
    passes: integer("passes").notNull().default(0),
    failures: integer("failures").notNull().default(0),
    startedAt: timestamp("started_at", { withTimezone: true }),
    completedAt: timestamp("completed_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    index("idx_deployments_build").on(t.buildId),
    uniqueIndex("uq_deployments_release_position").on(t.releaseId, t.position),
    // "The stage's last healthy deployment", looked up when a release is made.
    index("idx_deployments_stage_history").on(t.projectId, t.stage, t.completedAt.desc()),
  ],
);

/** What happened to a release, in order: the event history the API and the events socket show. */
export const deploymentEvents = pgTable(
  "deployment_events",
  {
    releaseId: uuid("release_id")
      .notNull()
      .references(() => releases.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull(),
    type: varchar("type", { length: 40 }).notNull(),
    stage: varchar("stage", { length: 50 }),
    message: varchar("message", { length: 2000 }).notNull(),
    // The person who asked for the event (approved, cancelled, asked for a rollback); the message
    // holds only the words, so nothing here names them once their account is gone.
    actorId: uuid("actor_id").references(() => users.id, { onDelete: "set null" }),
  },
  (t) => [
    primaryKey({ columns: [t.releaseId, t.seq] }),
    // Deleting an account sets its events' actor to null: found by this, not by a scan.
    index("idx_deployment_events_actor").on(t.actorId).where(sql`${t.actorId} is not null`),
  ],
);

export const auditLogs = pgTable(
  "audit_logs",
  {
    id: id(),
    // Audit rows outlive the users and workspaces they mention.
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    workspaceId: uuid("workspace_id").references(() => workspaces.id, { onDelete: "set null" }),
    eventType: varchar("event_type", { length: 50 }).notNull(),
    resourceType: varchar("resource_type", { length: 50 }),
    resourceId: uuid("resource_id"),
    action: varchar("action", { length: 50 }).notNull(),
    result: varchar("result", { length: 20 }).notNull(),
    ip: varchar("ip", { length: 64 }),
    details: jsonb("details").notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    index("idx_audit_logs_workspace").on(t.workspaceId),
    index("idx_audit_logs_timestamp").on(t.createdAt),
    index("idx_audit_logs_workspace_page").on(t.workspaceId, t.createdAt.desc(), t.id.desc()),
    // A person's events, for their export and the scrub when their account is deleted.
    index("idx_audit_logs_user").on(t.userId).where(sql`${t.userId} is not null`),
    index("idx_audit_logs_resource").on(t.resourceId).where(sql`${t.resourceId} is not null`),
  ],
);

export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // Every token descended from one login shares a family; reuse of a rotated token revokes it.
    familyId: uuid("family_id").notNull(),
    tokenHash: varchar("token_hash", { length: 64 }).notNull().unique(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    rotatedAt: timestamp("rotated_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index("idx_refresh_tokens_family").on(t.familyId), index("idx_refresh_tokens_user").on(t.userId)],
);

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 100 }).notNull(),
    prefix: varchar("prefix", { length: 16 }).notNull(),
    tokenHash: varchar("token_hash", { length: 64 }).notNull().unique(),
    // What the token may do: read, write (read and change) or admin (everything its owner may).
    scope: varchar("scope", { length: 10 }).notNull().default("admin"),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index("idx_api_tokens_user").on(t.userId), check("api_tokens_scope_check", sql`${t.scope} in ('read', 'write', 'admin')`)],
);

/** Project secrets, encrypted (server/secrets/crypto.ts); the API never returns a value. */
export const secrets = pgTable(
  "secrets",
  {
    id: id(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 128 }).notNull(),
    ciphertext: text("ciphertext").notNull(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("uq_secrets_project_name").on(t.projectId, t.name)],
);

/**
 * Where each stage of a `sparki-static` project is served from. One row per stage: switching
 * `deployment_id` is the atomic deploy, blue-green switch or rollback; a canary sends
 * `canary_percent` of new visitors to `canary_deployment_id`.
 */
export const siteAliases = pgTable(
  "site_aliases",
  {
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    stage: varchar("stage", { length: 50 }).notNull(),
    deploymentId: uuid("deployment_id").notNull(),
    // The deployment replaced last; its visitors may finish their page loads from it.
    previousDeploymentId: uuid("previous_deployment_id"),
    canaryDeploymentId: uuid("canary_deployment_id"),
    canaryPercent: integer("canary_percent").notNull().default(0),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.stage] }), check("site_aliases_canary_check", sql`${t.canaryPercent} between 0 and 100`)],
);

/**
 * A stage's protection, set on the server by the project's owners and admins. A repository's
 * sparki.yml may only make a stage stricter. A stage without a row accepts only the project's
 * default branch and needs no approval unless sparki.yml asks for one.
 */
export const stageRules = pgTable(
  "stage_rules",
  {
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    stage: varchar("stage", { length: 50 }).notNull(),
    requireApproval: boolean("require_approval").notNull().default(false),
    // Branch patterns (as sparki.yml's `branches`) that may deploy to the stage.
    branches: jsonb("branches").notNull().default([]),
    // Roles whose members may approve the stage.
    approverRoles: jsonb("approver_roles").notNull().default(["owner", "admin"]),
    updatedBy: uuid("updated_by").references(() => users.id, { onDelete: "set null" }),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.stage] })],
);

/**
 * A project's push hook (`POST /v1/projects/:id/hooks/push`): the HMAC key any git server signs
 * its calls with. Verifying an HMAC needs the key itself, so it is sealed like a project secret
 * (server/secrets/crypto.ts), never hashed and never stored in clear.
 */
export const pushHooks = pgTable("push_hooks", {
  projectId: uuid("project_id")
    .primaryKey()
    .references(() => projects.id, { onDelete: "cascade" }),
  ciphertext: text("ciphertext").notNull(),
  createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
  createdAt: createdAt(),
  // When the key was last made (a rotation replaces the row's key in place).
  updatedAt: updatedAt(),
});

/**
 * Every webhook delivery received (push hook, GitHub, GitLab), so a redelivered one starts
 * nothing twice: the unique key is claimed by `insert … on conflict do nothing` in the same
 * transaction as what the delivery starts. A delivery id is unique within its receiver: the
 * project (push hook, GitLab) or the GitHub App installation; an absent one is NULL, and NULLs
 * are not distinct here so the key still holds.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: id(),
    source: varchar("source", { length: 20 }).notNull(),
    deliveryId: varchar("delivery_id", { length: 255 }).notNull(),
    projectId: uuid("project_id").references(() => projects.id, { onDelete: "cascade" }),
    installationId: bigint("installation_id", { mode: "number" }),
    event: varchar("event", { length: 50 }).notNull(),
    // started: a build was made (build_id); ignored: nothing to do (detail says why); failed: refused after it was recorded.
    outcome: varchar("outcome", { length: 20 }).notNull(),
    detail: varchar("detail", { length: 500 }),
    buildId: uuid("build_id").references(() => builds.id, { onDelete: "set null" }),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("uq_webhook_deliveries_delivery").on(t.source, t.projectId, t.installationId, t.deliveryId).nullsNotDistinct(),
    index("idx_webhook_deliveries_project_recent").on(t.projectId, t.receivedAt.desc()),
    check("webhook_deliveries_source_check", sql`${t.source} in ('push-hook', 'github', 'gitlab')`),
    check("webhook_deliveries_outcome_check", sql`${t.outcome} in ('started', 'ignored', 'failed')`),
  ],
);

/**
 * GitHub App installations, as GitHub's `installation` events and the setup redirect told us. An
 * installation builds nothing until a workspace owner or admin linked it (workspace_id); one
 * installation serves one workspace. Deleted installations keep their row (deleted_at) so a late
 * event is recognised and ignored.
 */
export const githubInstallations = pgTable(
  "github_installations",
  {
    // GitHub's installation id.
    id: bigint("id", { mode: "number" }).primaryKey(),
    accountLogin: varchar("account_login", { length: 255 }).notNull(),
    accountType: varchar("account_type", { length: 20 }).notNull(),
    repositorySelection: varchar("repository_selection", { length: 20 }).notNull().default("selected"),
    workspaceId: uuid("workspace_id").references(() => workspaces.id, { onDelete: "set null" }),
    linkedBy: uuid("linked_by").references(() => users.id, { onDelete: "set null" }),
    linkedAt: timestamp("linked_at", { withTimezone: true }),
    suspendedAt: timestamp("suspended_at", { withTimezone: true }),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("idx_github_installations_workspace").on(t.workspaceId)],
);

/** The repositories an installation may use (its `installation` and `installation_repositories` events). */
export const githubInstallationRepositories = pgTable(
  "github_installation_repositories",
  {
    installationId: bigint("installation_id", { mode: "number" })
      .notNull()
      .references(() => githubInstallations.id, { onDelete: "cascade" }),
    repositoryId: bigint("repository_id", { mode: "number" }).notNull(),
    fullName: varchar("full_name", { length: 255 }).notNull(),
    private: boolean("private").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.installationId, t.repositoryId] }), index("idx_github_installation_repositories_repo").on(t.repositoryId)],
);

/**
 * A project's GitLab link (`PUT /v1/projects/:id/gitlab`): which GitLab project it builds, the
 * secret token GitLab sends on every delivery to the project's webhook URL (`X-Gitlab-Token`;
 * compared with the token itself, so sealed like a project secret, never hashed), and the
 * project access token that posts commit statuses and clones private repositories (sealed).
 */
export const gitlabLinks = pgTable(
  "gitlab_links",
  {
    projectId: uuid("project_id")
      .primaryKey()
      .references(() => projects.id, { onDelete: "cascade" }),
    // GitLab's numeric project id (stable across renames and transfers) and its path when linked.
    gitlabProjectId: bigint("gitlab_project_id", { mode: "number" }).notNull(),
    gitlabPath: varchar("gitlab_path", { length: 1024 }).notNull(),
    hookTokenCiphertext: text("hook_token_ciphertext").notNull(),
    accessTokenCiphertext: text("access_token_ciphertext").notNull(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("idx_gitlab_links_gitlab_project").on(t.gitlabProjectId)],
);

/**
 * A build's check run on GitHub (server/integrations/github/report-build.ts). The row is taken
 * before the check run is created (check_run_id null meanwhile), so two reporters of one build
 * never both create one; `reported` is what GitHub was last told, so a redelivered event updates
 * the same check run and never moves it backwards.
 */
export const githubCheckRuns = pgTable(
  "github_check_runs",
  {
    buildId: uuid("build_id")
      .primaryKey()
      .references(() => builds.id, { onDelete: "cascade" }),
    checkRunId: bigint("check_run_id", { mode: "number" }),
    reported: varchar("reported", { length: 20 }),
    // When a reporter took the row to create the check run; a stale claim (a reporter that died) is taken over.
    claimedAt: timestamp("claimed_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: updatedAt(),
  },
  (t) => [check("github_check_runs_reported_check", sql`${t.reported} in ('queued', 'in_progress', 'completed')`)],
);

/**
 * A stage attempt's GitHub deployment (server/integrations/github/report-deployment.ts), taken
 * and advanced like a check run: `reported` is the last deployment status sent.
 */
export const githubDeployments = pgTable("github_deployments", {
  deploymentId: uuid("deployment_id")
    .primaryKey()
    .references(() => deployments.id, { onDelete: "cascade" }),
  githubDeploymentId: bigint("github_deployment_id", { mode: "number" }),
  reported: varchar("reported", { length: 20 }),
  claimedAt: timestamp("claimed_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: updatedAt(),
});

/**
 * A GitHub pull request that may have a preview (server/use-cases/start-preview.ts): written by
 * its opened, synchronize and reopened deliveries, closed by its closed one. A green build of the
 * pull request deploys to its `pr-<number>` stage only while the row is open, and a closed row
 * hides that stage from the sites origin at once (server/deploy/aliases.ts), whatever deployment
 * of it may still finish. `opened_at` is the start of the latest open spell: a preview rolls back
 * only to a deployment of that spell (an earlier one's files were deleted at the close).
 */
export const pullRequestPreviews = pgTable(
  "pull_request_previews",
  {
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    openedAt: timestamp("opened_at", { withTimezone: true }).notNull().defaultNow(),
    closedAt: timestamp("closed_at", { withTimezone: true }),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.number] }), check("pull_request_previews_number_check", sql`${t.number} > 0`)],
);

/**
 * A project's notification channel: an outgoing webhook (signed like the push hook) or a Slack
 * incoming webhook, told of the events it subscribes to (server/notifications/). The URL is
 * sealed like a project secret (a Slack webhook URL is itself the credential); `url_hint` is the
 * part that may be shown (scheme and host). A webhook's signing key is sealed too: a receiver
 * checks an HMAC with the key itself, so it cannot be hashed.
 */
export const notificationChannels = pgTable(
  "notification_channels",
  {
    id: id(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    kind: varchar("kind", { length: 10 }).notNull(),
    name: varchar("name", { length: 100 }).notNull(),
    urlCiphertext: text("url_ciphertext").notNull(),
    urlHint: varchar("url_hint", { length: 300 }).notNull(),
    signingCiphertext: text("signing_ciphertext"),
    events: jsonb("events").$type<string[]>().notNull(),
    enabled: boolean("enabled").notNull().default(true),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("idx_notification_channels_project").on(t.projectId), check("notification_channels_kind_check", sql`${t.kind} in ('webhook', 'slack')`)],
);

/**
 * One notification sent (or being sent) to one channel: the payload, fixed when the event was
 * detected so every attempt sends the same message, and what the last attempt got. Unique per
 * (channel, occurrence) so a redelivered queue event notifies nobody twice. Pruned to the newest
 * rows of each channel when new ones are added.
 */
export const notificationDeliveries = pgTable(
  "notification_deliveries",
  {
    id: id(),
    channelId: uuid("channel_id")
      .notNull()
      .references(() => notificationChannels.id, { onDelete: "cascade" }),
    event: varchar("event", { length: 40 }).notNull(),
    // What happened, once: e.g. `build.failed:<build id>`, `approval.waiting:<release id>:<stage>`.
    occurrence: varchar("occurrence", { length: 200 }).notNull(),
    payload: jsonb("payload").notNull(),
    // pending: waiting for its next attempt; delivered; failed: given up (attempts used, or refused for good).
    status: varchar("status", { length: 10 }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    responseStatus: integer("response_status"),
    error: varchar("error", { length: 500 }),
    createdAt: createdAt(),
    lastAttemptAt: timestamp("last_attempt_at", { withTimezone: true }),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("uq_notification_deliveries_occurrence").on(t.channelId, t.occurrence),
    index("idx_notification_deliveries_channel_page").on(t.channelId, t.createdAt.desc(), t.id.desc()),
    check("notification_deliveries_status_check", sql`${t.status} in ('pending', 'delivered', 'failed')`),
  ],
);

/**
 * A GitHub or GitLab account a user signs in with (workers/routes/oauth.ts). The provider's
 * numeric id, not the login or email, names the account: both can change hands.
 */
export const userIdentities = pgTable(
  "user_identities",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: varchar("provider", { length: 20 }).notNull(),
    providerUserId: varchar("provider_user_id", { length: 64 }).notNull(),
    login: varchar("login", { length: 255 }).notNull(),
    email: varchar("email", { length: 255 }),
    linkedAt: timestamp("linked_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("uq_user_identities_provider_account").on(t.provider, t.providerUserId),
    // One account per provider per user: "unlink GitHub" names exactly one.
    uniqueIndex("uq_user_identities_user_provider").on(t.userId, t.provider),
    check("user_identities_provider_check", sql`${t.provider} in ('github', 'gitlab')`),
  ],
);

/**
 * A sign-in with GitHub or GitLab under way: the `state` sent to the provider (hashed), the PKCE
 * verifier, and the hash of the nonce in the browser's cookie that started it. The callback
 * deletes the row as it reads it, so a state works once; rows live ten minutes.
 */
export const oauthFlows = pgTable(
  "oauth_flows",
  {
    stateHash: varchar("state_hash", { length: 64 }).primaryKey(),
    provider: varchar("provider", { length: 20 }).notNull(),
    codeVerifier: varchar("code_verifier", { length: 128 }).notNull(),
    browserHash: varchar("browser_hash", { length: 64 }).notNull(),
    returnTo: varchar("return_to", { length: 1024 }).notNull(),
    // Set when a signed-in user asked to link the provider account to theirs (the account page).
    linkUserId: uuid("link_user_id").references(() => users.id, { onDelete: "cascade" }),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("idx_oauth_flows_expires").on(t.expiresAt)],
);
