/**
 * Triggering a build: a numbered build row, then the build's coordinator started at once for a
 * fast pickup. The API's `POST /v1/projects/:id/builds`, a push hook's call and a `script`
 * deployment's deploy and rollback builds (server/deploy/adapters/script.ts) are made here; the queue's
 * `build.requested` starts a build again from its row with {@link restartBuild}.
 */
import { eq, sql } from "drizzle-orm";
import type { Pipeline } from "../../core/pipeline/index.ts";
import type { Bindings } from "../config.js";
import type { Db } from "../db/client.js";
import { builds, projects } from "../db/schema.js";
import { buildCoordinator } from "../objects/clients.js";
import type { BuildInit } from "../objects/build-coordinator/protocol.js";
import { sharedPool, workspacePool } from "../objects/runner-dispatcher/protocol.js";
import { cancelSuperseded, joinSupersedeGroup } from "./supersede-builds.js";

type BuildRow = typeof builds.$inferSelect;
/** A transaction of {@link Db}: what `db.transaction` hands its callback. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

/** What a build needs to know of its project. */
export interface BuildProject {
  id: string;
  workspaceId: string;
  gitUrl: string;
  framework: string | null;
}

/** Who asked, which decides what the build runs and who may run it. */
export type BuildSource =
  /**
   * A person or token through the API: the build's plan job reads sparki.yml at the commit, any
   * pool may run it, and a `build.requested` event backs up the direct start (the queue starts
   * the coordinator again from the row if the direct start was lost).
   */
  | { trigger: "api"; createdBy: string; correlationId: string }
  /**
   * A git server's signed push hook (workers/routes/push-hook.ts): no person behind it, otherwise
   * as `api` (sparki.yml at the commit, any pool, a `build.requested` backstop).
   */
  | { trigger: "push"; correlationId: string }
  /** A GitHub pull request's head (server/github-app/deliver.ts): as `push`, on the PR's head sha. */
  | { trigger: "pull_request"; correlationId: string }
  /**
   * A `script` deployment: the pipeline comes with the build (its one job runs the script), so
   * only this start can run it and no event follows. A deploy script acts with the platform's
   * credentials: `ownRunnersOnly` keeps it to the workspace's own runners.
   */
  | { trigger: "deploy"; pipeline: Pipeline; ownRunnersOnly: boolean };

export interface TriggerBuild {
  project: BuildProject;
  /** The branch built; null for a tag build. */
  branch: string | null;
  /** The pushed tag a tag build is for (its commit in `commitSha`); such a build has no branch. */
  tag?: string | null;
  commitSha: string | null;
  source: BuildSource;
  /** Code nobody trusted (a fork's pull request): its jobs get no secrets and it deploys nothing. */
  untrusted?: boolean;
  /** The GitHub pull request this build is for. */
  pullRequest?: number | null;
  /** The branch that pull request targets: the build restores that branch's dependency caches. */
  baseBranch?: string | null;
  /** The trace the build joins (the triggering request's span); its coordinator and jobs carry it on. */
  traceparent?: string | null;
  /** Written in the build row's transaction (the API's audit entry), so both land or neither. */
  alongside?: (tx: Tx, build: BuildRow) => Promise<void>;
}

/** Inserts the build and starts its coordinator; returns the row as inserted (status `queued`). */
export async function triggerBuild(env: Pick<Bindings, "BUILD_COORDINATOR" | "EVENTS">, db: Db, req: TriggerBuild): Promise<BuildRow> {
  const { project, source } = req;
  const createdBy = source.trigger === "api" ? source.createdBy : null;
  let superseded: string[] = [];
  const row = await db.transaction(async (tx) => {
    const inserted = await insertNumberedBuild(tx, {
      projectId: project.id,
      branch: req.tag ? null : req.branch,
      tag: req.tag ?? null,
      commitSha: req.commitSha,
      status: "queued",
      trigger: source.trigger,
      createdBy,
      untrusted: req.untrusted ?? false,
      pullRequest: req.pullRequest ?? null,
      baseBranch: req.pullRequest ? (req.baseBranch ?? null) : null,
    });
    // Under the project row's lock, so two quick pushes see each other (supersede-builds.ts).
    superseded = await joinSupersedeGroup(tx, inserted, source.trigger);
    await req.alongside?.(tx, inserted);
    return inserted;
  });
  if (source.trigger === "deploy") {
    await buildCoordinator(env, row.id).start({
      ...buildInit(row, project, { ownRunnersOnly: source.ownRunnersOnly, traceparent: req.traceparent }),
      pipeline: source.pipeline,
    });
    return row;
  }
  await buildCoordinator(env, row.id).start(buildInit(row, project, { traceparent: req.traceparent }));
  await cancelSuperseded(env, superseded, row);
  await env.EVENTS.send({
    type: "build.requested",
    buildId: row.id,
    projectId: project.id,
    correlationId: source.correlationId,
    ...(req.traceparent ? { traceparent: req.traceparent } : {}),
    occurredAt: new Date().toISOString(),
  });
  return row;
}

/**
 * Starts the coordinator of a build that ran from its row (`build.requested`); starting one
 * already started changes nothing. A build deleted since is left alone.
 */
export async function restartBuild(env: Pick<Bindings, "BUILD_COORDINATOR">, db: Db, buildId: string, traceparent?: string | null): Promise<void> {
  const [row] = await db
    .select({ build: builds, project: { id: projects.id, workspaceId: projects.workspaceId, gitUrl: projects.gitUrl, framework: projects.framework } })
    .from(builds)
    .innerJoin(projects, eq(projects.id, builds.projectId))
    .where(eq(builds.id, buildId));
  if (!row) return;
  await buildCoordinator(env, buildId).start(buildInit(row.build, row.project, { traceparent }));
}

/**
 * Inserts a build with the project's next number. Locks the project row so concurrent triggers
 * get consecutive numbers; run it inside a transaction.
 */
async function insertNumberedBuild(tx: Tx, values: Omit<typeof builds.$inferInsert, "number"> & { projectId: string }): Promise<BuildRow> {
  await tx.execute(sql`select id from ${projects} where id = ${values.projectId} for update`);
  const [next] = await tx
    .select({ n: sql<number>`coalesce(max(${builds.number}), 0) + 1` })
    .from(builds)
    .where(eq(builds.projectId, values.projectId));
  const [inserted] = await tx
    .insert(builds)
    .values({ ...values, number: Number(next?.n ?? 1) })
    .returning();
  if (!inserted) throw new Error("insert returned no row");
  return inserted;
}

/**
 * What a build's coordinator starts from. Jobs are offered to the workspace's pool and to the
 * shared pool that serves every workspace (whose claims the workspace's shared_runners policy
 * still decides, see workers/services/runner-pools.ts), or with `ownRunnersOnly` to the
 * workspace's own runners alone.
 */
function buildInit(
  build: Pick<BuildRow, "id" | "number" | "branch" | "tag" | "commitSha">,
  project: BuildProject,
  options: { ownRunnersOnly?: boolean; traceparent?: string | null | undefined } = {},
): BuildInit {
  return {
    buildId: build.id,
    projectId: project.id,
    workspaceId: project.workspaceId,
    number: build.number ?? 1,
    framework: project.framework,
    // A tag build names its tag as the branch too, for runners that predate `tag` (see core/contracts/runner.ts).
    repo: build.tag
      ? { url: project.gitUrl, branch: build.tag, tag: build.tag, commitSha: build.commitSha }
      : { url: project.gitUrl, branch: build.branch ?? "main", commitSha: build.commitSha },
    pools: options.ownRunnersOnly ? [workspacePool(project.workspaceId)] : [workspacePool(project.workspaceId), sharedPool],
    ...(options.traceparent ? { traceparent: options.traceparent } : {}),
  };
}
