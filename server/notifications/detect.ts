/**
 * What is worth telling a project's channels, read from Postgres after a queue event:
 * - `build.failed`: a build ended failed or timed out (not cancelled: someone or a newer push chose that);
 * - `build.fixed`: a build succeeded and the previous finished build of its branch (by number,
 *   cancelled ones skipped) had failed or timed out;
 * - `deployment.rolled_back`: a deployment ended rolled back (by hand or by its health checks);
 * - `approval.waiting`: a deployment stopped at a stage that needs an approval.
 * Each comes with an occurrence key, so a repeated queue event finds the same notification.
 * Builds that belong to a deployment (a deploy script's) are the deployment's news, not a build's.
 */
import { and, asc, desc, eq, inArray, lt } from "drizzle-orm";
import type { NotificationEventName, NotificationPayload } from "../../core/contracts/notifications.js";
import type { Db } from "../db/client.js";
import { builds, deployments, projects, releases } from "../db/schema.js";

/** Something to tell: the payload without its id, which is each delivery's own. */
export interface Occurrence {
  projectId: string;
  event: NotificationEventName;
  key: string;
  payload: Omit<NotificationPayload, "id">;
}

const page = (publicUrl: string | undefined, path: string) => (publicUrl ? new URL(path, publicUrl).toString() : null);

/** The occurrence a finished build makes, if any. `status` is the event's (Postgres may lag behind it). */
export async function buildOccurrence(db: Db, buildId: string, status: string, publicUrl: string | undefined): Promise<Occurrence | null> {
  const [row] = await db
    .select({ build: builds, projectName: projects.name })
    .from(builds)
    .innerJoin(projects, eq(projects.id, builds.projectId))
    .where(eq(builds.id, buildId));
  if (!row?.build.projectId || row.build.trigger === "deploy") return null;
  const b = row.build;
  const projectId = b.projectId ?? "";
  let event: NotificationEventName;
  if (status === "failed" || status === "timed_out") event = "build.failed";
  else if (status === "succeeded" && (await previousFailed(db, projectId, b.branch, b.number))) event = "build.fixed";
  else return null;
  return {
    projectId,
    event,
    key: `${event}:${buildId}`,
    payload: {
      event,
      occurredAt: (b.completedAt ?? new Date()).toISOString(),
      project: { id: projectId, name: row.projectName },
      build: { id: b.id, number: b.number, status, branch: b.branch, commitSha: b.commitSha, error: b.error },
      url: page(publicUrl, `/builds/${b.id}`),
    },
  };
}

async function previousFailed(db: Db, projectId: string, branch: string | null, number: number | null): Promise<boolean> {
  if (branch === null || number === null) return false;
  const [prev] = await db
    .select({ status: builds.status })
    .from(builds)
    .where(
      and(eq(builds.projectId, projectId), eq(builds.branch, branch), lt(builds.number, number), inArray(builds.status, ["succeeded", "failed", "timed_out"])),
    )
    .orderBy(desc(builds.number))
    .limit(1);
  return prev?.status === "failed" || prev?.status === "timed_out";
}

/** The occurrence a deployment's change makes, if any (its state as Postgres has it now). */
export async function deploymentOccurrence(db: Db, releaseId: string, publicUrl: string | undefined): Promise<Occurrence | null> {
  const [row] = await db
    .select({ release: releases, projectName: projects.name })
    .from(releases)
    .innerJoin(projects, eq(projects.id, releases.projectId))
    .where(eq(releases.id, releaseId));
  if (!row) return null;
  const r = row.release;
  const stages = await db
    .select({ stage: deployments.stage, status: deployments.status, approval: deployments.approval })
    .from(deployments)
    .where(eq(deployments.releaseId, releaseId))
    .orderBy(asc(deployments.position));
  let event: NotificationEventName;
  let names: string[];
  let key: string;
  if (r.status === "rolled_back") {
    event = "deployment.rolled_back";
    names = stages.filter((s) => s.status === "rolled_back").map((s) => s.stage ?? "");
    key = `${event}:${releaseId}`;
  } else if (r.status === "awaiting_approval") {
    const waiting = stages.find((s) => s.approval && s.status === "waiting");
    if (!waiting?.stage) return null;
    event = "approval.waiting";
    names = [waiting.stage];
    key = `${event}:${releaseId}:${waiting.stage}`;
  } else return null;
  return {
    projectId: r.projectId,
    event,
    key,
    payload: {
      event,
      occurredAt: new Date().toISOString(),
      project: { id: r.projectId, name: row.projectName },
      deployment: { id: r.id, buildId: r.buildId, status: r.status, stages: names, reason: r.reason },
      url: page(publicUrl, `/projects/${r.projectId}/deployments`),
    },
  };
}
