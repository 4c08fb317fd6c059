/**
 * Tells Postgres what happened: the release's status, each stage attempt's row, the new events
 * and the audit rows of what no request did (automatic rollbacks). Every write is an idempotent
 * upsert, so a failed sync is simply tried again (with backoff) until Postgres accepts it.
 */
import { sql } from "drizzle-orm";
import { trafficOf } from "../../core/deploy/machine.ts";
import type { Db } from "../../server/db/client.js";
import { auditLogs, deploymentEvents, deployments, releases } from "../../server/db/schema.js";
import type { Meta } from "../../server/objects/deployment-orchestrator/protocol.js";

export interface StoredEvent {
  seq: number;
  at: number;
  type: string;
  stage: string | null;
  message: string;
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

/** One transaction, so the audit rows (not idempotent) are written exactly once. */
export async function syncToPostgres(db: Db, meta: Meta, events: StoredEvent[]): Promise<void> {
  await db.transaction((tx) => write(tx as unknown as Db, meta, events));
}

async function write(db: Db, meta: Meta, events: StoredEvent[]): Promise<void> {
  const { init, state } = meta;
  await db
    .insert(releases)
    .values({
      id: init.releaseId,
      projectId: init.projectId,
      buildId: init.buildId,
      status: state.status,
      reason: state.reason,
      trigger: init.trigger,
      createdBy: init.actorId,
      createdAt: new Date(init.createdAt),
      completedAt: date(meta.completedAt),
    })
    .onConflictDoUpdate({ target: releases.id, set: { status: state.status, reason: state.reason, completedAt: date(meta.completedAt) } });
  for (const [position, stage] of state.stages.entries()) {
    const plan = init.stages[position];
    const times = meta.times[position];
    if (!plan || !times) continue;
    const row = {
      status: stage.status,
      platformDeploymentId: stage.platformDeploymentId,
      url: times.url,
      trafficPercent: trafficOf(stage),
      passes: stage.passes,
      failures: stage.failures,
      startedAt: date(times.startedAt),
      completedAt: date(times.completedAt),
      // A subquery: an approver whose account is gone since is written as null instead of
      // failing the foreign key, which would block this sync for good.
      approvedBy: times.approvedBy ? sql<string>`(select id from users where id = ${times.approvedBy.id})` : null,
      approvedAt: date(times.approvedAt ?? null),
    };
    await db
      .insert(deployments)
      .values({
        id: plan.attemptId,
        buildId: init.buildId,
        releaseId: init.releaseId,
        projectId: init.projectId,
        position,
        stage: plan.name,
        platform: plan.platform,
        strategy: plan.strategy,
        approval: plan.approval,
        ...row,
      })
      .onConflictDoUpdate({ target: deployments.id, set: row });
  }
  if (events.length > 0) {
    await db
      .insert(deploymentEvents)
      .values(
        events.map((e) => ({ releaseId: init.releaseId, seq: e.seq, at: new Date(e.at), type: e.type, stage: e.stage, message: e.message.slice(0, 2000) })),
      )
      .onConflictDoNothing();
  }
  for (const a of meta.audits) {
    await db.insert(auditLogs).values({
      eventType: "data",
      action: a.action,
      result: "success",
      userId: null,
      workspaceId: sql`(select id from workspaces where id = ${init.workspaceId})`,
      resourceType: "deployment",
      resourceId: init.releaseId,
      details: { projectId: init.projectId, ...a.details },
    });
  }
}

/**
 * What the git hosts are told of (the deployment's and each stage's status, each stage's URL),
 * from a sync snapshot (`JSON.stringify([state, times, completedAt])`); health-check counts and
 * traffic steps leave it unchanged, so they send no `deployment.changed`.
 */
export function stageSignature(snapshot: string | null): string {
  if (!snapshot) return "";
  const [state, times] = JSON.parse(snapshot) as [{ status: string; stages: { status: string }[] }, { url: string | null }[]];
  return JSON.stringify([state.status, state.stages.map((s) => s.status), times.map((t) => t.url)]);
}

/** Backoff before the next try: 1 s doubling to 60 s. */
export function syncDelayMs(attempts: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.min(attempts, 6));
}
