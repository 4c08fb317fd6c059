import type { Context } from "hono";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import type { BuildInit, LeaseRefusal } from "../../server/objects/build-coordinator/protocol.js";
import { sharedPool, workspacePool } from "../../server/objects/runner-dispatcher/protocol.js";
import { eq, sql } from "drizzle-orm";
import type { Db } from "../../server/db/client.js";
import { builds, projects } from "../../server/db/schema.js";

/** Job ids are `<build id>.<n>`: the build (and so its coordinator) is read off the id. */
export function buildIdOfJob(jobId: string): string {
  const buildId = jobId.split(".")[0] ?? "";
  if (!/^[0-9a-f-]{36}$/.test(buildId) || !/^[0-9a-f-]{36}\.\d{1,4}$/.test(jobId)) {
    throw new SparkiError("not_found", { detail: `No job ${jobId}.` });
  }
  return buildId;
}

/** A coordinator's refusal as the 409 the runner protocol prescribes (or 404). */
export function refusalError(refusal: LeaseRefusal): SparkiError {
  return new SparkiError(refusal.refused === "not_found" ? "not_found" : "lease_lost", { detail: refusal.detail });
}

/**
 * Inserts a build with the project's next number. Locks the project row so concurrent triggers
 * get consecutive numbers; run it inside the caller's transaction.
 */
export async function insertNumberedBuild(tx: Db, values: Omit<typeof builds.$inferInsert, "number"> & { projectId: string }): Promise<typeof builds.$inferSelect> {
  await tx.execute(sql`select id from ${projects} where id = ${values.projectId} for update`);
  const [next] = await tx.select({ n: sql<number>`coalesce(max(${builds.number}), 0) + 1` }).from(builds).where(eq(builds.projectId, values.projectId));
  const [inserted] = await tx.insert(builds).values({ ...values, number: Number(next?.n ?? 1) }).returning();
  if (!inserted) throw new Error("insert returned no row");
  return inserted;
}

/**
 * What a build's coordinator starts from: the build row and its project. Jobs are offered to the
 * workspace's pool and to the shared pool that serves every workspace (whose claims the
 * workspace's shared_runners policy still decides, see runner-pools.ts), or with `ownRunnersOnly`
 * (script deployments) to the workspace's own runners alone.
 */
export function buildInit(
  build: Pick<typeof builds.$inferSelect, "id" | "number" | "branch" | "commitSha">,
  project: { id: string; workspaceId: string; gitUrl: string; framework: string | null },
  options: { ownRunnersOnly?: boolean } = {},
): BuildInit {
  return {
    buildId: build.id,
    projectId: project.id,
    workspaceId: project.workspaceId,
    number: build.number ?? 1,
    framework: project.framework,
    repo: { url: project.gitUrl, branch: build.branch ?? "main", commitSha: build.commitSha },
    pools: options.ownRunnersOnly ? [workspacePool(project.workspaceId)] : [workspacePool(project.workspaceId), sharedPool],
  };
}
