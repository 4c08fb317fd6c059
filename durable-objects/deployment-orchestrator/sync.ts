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
import { oldRequestOf, withoutOldHandRollback } from "../../server/objects/deployment-orchestrator/people.js";

export interface StoredEvent {
  seq: number;
  at: number;
  type: string;
  stage: string | null;
  message: string;
  /** The user id of the person who asked for it (approved, cancelled, asked for a rollback). */
  actor: string | null;
}

/** A user's id if the account still exists, else null: a person gone since fails no foreign key (which would block the sync for good). */
const stillAUser = (id: string) => sql<string>`(select id from users where id = ${id})`;

/**
 * An event's row. People are kept by id (actor_id goes null with their account); an event an
 * older orchestrator stored with a person's email gets that account's id, and never the email.
 */
function eventRow(releaseId: string, e: StoredEvent) {
  const old = oldRequestOf(e);
  const actorId = e.actor ? stillAUser(e.actor) : old ? sql<string>`(select id from users where email = ${old.email})` : null;
  const message = old ? old.words : withoutOldHandRollback(e.message);
  return { releaseId, seq: e.seq, at: new Date(e.at), type: e.type, stage: e.stage, message: message.slice(0, 2000), actorId };
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

/** One transaction, so the audit rows (not idempotent) are written exactly once. */
export async function syncToPostgres(db: Db, meta: Meta, events: StoredEvent[]): Promise<void> {
  await db.transaction((tx) => write(tx as unknown as Db, meta, events));
}

async function write(db: Db, meta: Meta, events: StoredEvent[]): Promise<void> {
  const { init, state } = meta;
  const reason = state.reason === null ? null : withoutOldHandRollback(state.reason);
  await db
    .insert(releases)
    .values({
      id: init.releaseId,
      projectId: init.projectId,
      buildId: init.buildId,
      status: state.status,
      reason,
      trigger: init.trigger,
      createdBy: init.actorId,
      createdAt: new Date(init.createdAt),
      completedAt: date(meta.completedAt),
    })
    .onConflictDoUpdate({ target: releases.id, set: { status: state.status, reason, completedAt: date(meta.completedAt) } });
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
      approvedBy: times.approvedBy ? stillAUser(times.approvedBy.id) : null,
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
      .values(events.map((e) => eventRow(init.releaseId, e)))
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
