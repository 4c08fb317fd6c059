/**
 * A pull request's preview: a green build of an open GitHub pull request whose pipeline has a
 * `sparki-static` deploy job deploys that job's output to the stage `pr-<number>` alone (served
 * at `pr-<number>--<project>` on the sites origin), as a release with trigger `preview`.
 *
 * A preview is not one of the project's stages: it touches no other stage, needs no approval and
 * is not subject to stage rules (which guard the stages sparki.yml names; a preview's branch is by
 * definition not the default branch). It goes all at once, checked like any sparki-static stage
 * (the job's health-check path, else `/` answering 200). Untrusted builds (a fork's pull request
 * in a workspace that does not trust forks) get none. Its StageLock (`projectId:pr-<n>`) keeps
 * one deployment of a pull request at a time, and a newer push's release supersedes one waiting.
 *
 * The pull request must be open (`pull_request_previews`, checked under that row's lock in the
 * release's transaction, so a close either comes first and no preview is made, or comes after
 * and finds the release to cancel: close-preview.ts).
 */
import { and, desc, eq, gt } from "drizzle-orm";
import { previewStage } from "../../core/deploy/preview.ts";
import type { Bindings } from "../config.js";
import type { Db } from "../db/client.js";
import { type builds, deployments, pullRequestPreviews, releases } from "../db/schema.js";
import { deploymentOrchestrator } from "../objects/clients.js";
import type { ReleaseInit, StageInit } from "../objects/deployment-orchestrator/protocol.js";
import { deployJobsOf, staticDefaultCheck, uuidFrom } from "./start-deployment.js";

type BuildRow = typeof builds.$inferSelect;

export type PreviewOutcome = { releaseId: string } | { skipped: string };

/** Writes the preview's release (once per build) and starts its orchestrator, or says why there is none. */
export async function startPreview(
  env: Pick<Bindings, "DEPLOYMENT_ORCHESTRATOR">,
  db: Db,
  build: BuildRow,
  project: { id: string; workspaceId: string },
): Promise<PreviewOutcome> {
  const made = await createPreview(db, build, project);
  if ("skipped" in made) return made;
  await deploymentOrchestrator(env, made.init.releaseId).start(made.init);
  return { releaseId: made.init.releaseId };
}

/** The preview's rows and what its orchestrator starts from (exported for tests that stop short of starting it). */
export async function createPreview(
  db: Db,
  build: BuildRow,
  project: { id: string; workspaceId: string },
): Promise<{ init: ReleaseInit } | { skipped: string }> {
  const number = build.pullRequest;
  if (number === null || build.trigger !== "pull_request") return { skipped: "not a pull request build" };
  if (build.status !== "succeeded") return { skipped: `build is ${build.status}` };
  if (build.untrusted) return { skipped: "a fork's pull request without trust gets no preview" };
  const job = (await deployJobsOf(db, build)).find((j) => j.deploy?.platform === "sparki-static");
  if (!job?.deploy) return { skipped: "the pipeline has no sparki-static deployment" };
  const stage = previewStage(number);
  const releaseId = await uuidFrom(`preview:${build.id}`);
  const attemptId = await uuidFrom(`${releaseId}:0`);

  return db.transaction(async (tx) => {
    const [open] = await tx
      .select({ openedAt: pullRequestPreviews.openedAt, closedAt: pullRequestPreviews.closedAt })
      .from(pullRequestPreviews)
      .where(and(eq(pullRequestPreviews.projectId, project.id), eq(pullRequestPreviews.number, number)))
      .for("update");
    if (!open || open.closedAt) return { skipped: `pull request #${number} is not open` };
    const hc = job.deploy?.healthCheck;
    // Only a path: a check URL names where another stage lives, not this preview.
    const check = hc?.path
      ? { path: hc.path, url: null, expectedStatus: hc.expectedStatus, intervalSeconds: hc.intervalSeconds, timeoutSeconds: hc.timeoutSeconds }
      : staticDefaultCheck;
    const stageInit: StageInit = {
      attemptId,
      name: stage,
      platform: "sparki-static",
      strategy: "all-at-once",
      approval: false,
      approverRoles: ["owner", "admin"],
      healthCheck: check,
      healthyThreshold: hc?.path ? hc.healthyThreshold : 1,
      unhealthyThreshold: hc?.path ? hc.unhealthyThreshold : 3,
      trafficSteps: [100],
      pauseMs: 0,
      settings: job.deploy?.settings ?? {},
      env: job.env,
      artifact: job.deploy?.artifact ?? null,
      previous: await lastHealthySince(tx as unknown as Db, project.id, stage, open.openedAt),
      script: null,
      rollbackScript: null,
    };
    const init: ReleaseInit = {
      releaseId,
      projectId: project.id,
      workspaceId: project.workspaceId,
      buildId: build.id,
      commitSha: build.commitSha,
      branch: build.branch ?? "",
      trigger: "preview",
      pullRequest: number,
      actorId: null,
      createdAt: Date.now(),
      stages: [stageInit],
    };
    const [row] = await tx
      .insert(releases)
      .values({ id: releaseId, projectId: project.id, buildId: build.id, status: "pending", trigger: "preview", createdAt: new Date(init.createdAt) })
      .onConflictDoNothing()
      .returning({ id: releases.id });
    if (row)
      await tx.insert(deployments).values({
        id: attemptId,
        buildId: build.id,
        releaseId,
        projectId: project.id,
        position: 0,
        stage,
        status: "waiting",
        platform: "sparki-static",
        strategy: "all-at-once",
        approval: false,
      });
    return { init };
  });
}

/** The preview's last healthy deployment of this open spell (an earlier spell's files are gone). */
async function lastHealthySince(db: Db, projectId: string, stage: string, since: Date): Promise<string | null> {
  const [row] = await db
    .select({ id: deployments.platformDeploymentId })
    .from(deployments)
    .where(and(eq(deployments.projectId, projectId), eq(deployments.stage, stage), eq(deployments.status, "healthy"), gt(deployments.createdAt, since)))
    .orderBy(desc(deployments.completedAt))
    .limit(1);
  return row?.id ?? null;
}
