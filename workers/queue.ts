import { SparkiEvent } from "../core/contracts/events.js";
import { Cache } from "../server/cache/cache.js";
import { isolateMemo } from "../server/cache/isolate-memo.js";
import { siteKey } from "../server/deploy/aliases.js";
import { purgeProjectObjects } from "./services/purge.js";
import { connect, type Db } from "../server/db/client.js";
import { configOf, type Bindings } from "../server/config.js";
import { describeError, Logger } from "./log.js";
import type { Tracing } from "../core/tracing/context.js";
import { tracingOf } from "../server/tracing.js";
import { restartBuild } from "../server/use-cases/trigger-build.js";
import { buildWithProject, startDeployment } from "../server/use-cases/start-deployment.js";
import { startPreview } from "../server/use-cases/start-preview.js";
import { removePreview } from "../server/use-cases/close-preview.js";
import { deliverGitHubEvent } from "../server/github-app/deliver.js";
import { QueuedGitHubEvent } from "../server/github-app/queued-event.js";
import { reportToGitLab } from "./gitlab-status.js";
import { reportToGitHub } from "./github-reports.js";
import { deliverNotification, notifyChannels } from "./notifications.js";
import { STALE_ATTEMPT_SECONDS } from "../server/notifications/deliver.js";

/**
 * Consumer of `sparki-events`. A message that does not parse can never succeed, so it goes
 * straight to the dead-letter queue instead of being retried. `build.requested` (re)starts the
 * build's coordinator, which is idempotent: the API already started it directly for a fast pickup,
 * and the queue makes sure a build whose direct start failed still runs. An event this consumer
 * cannot handle yet is retried, and dead-lettered after max_retries, never silently dropped.
 */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Bindings, ctx: Pick<ExecutionContext, "waitUntil">): Promise<void> {
  const config = configOf(env);
  const batchLog = new Logger({ service: "sparki-api", component: "queue", correlationId: `batch_${crypto.randomUUID()}` }, config.LOG_LEVEL);
  const tracing = tracingOf(config, "sparki-api");
  try {
    for (const message of batch.messages) await consumeOne(env, message, batchLog, tracing);
  } finally {
    // Not awaited: the batch is acknowledged now, its spans go with the next second's send.
    if (tracing.enabled) ctx.waitUntil(tracing.flushSoon());
  }
}

async function consumeOne(env: Bindings, message: Message<unknown>, batchLog: Logger, tracing: Tracing): Promise<void> {
  const parsed = SparkiEvent.safeParse(message.body);
  if (!parsed.success) {
    batchLog.warn("malformed event sent to the dead-letter queue", { messageId: message.id, issues: parsed.error.issues.length });
    await env.EVENTS_DLQ.send({ reason: "schema", messageId: message.id, body: message.body });
    message.ack();
    return;
  }
  const event = parsed.data;
  // The event's span joins its sender's trace (the request or object that sent it).
  const span = tracing.start(`queue ${event.type}`, {
    parent: event.traceparent,
    kind: "consumer",
    attributes: { "messaging.system": "cloudflare_queues", "messaging.message.id": message.id, "messaging.operation.type": "process" },
  });
  // The event's own correlation id (the request, build or deployment that sent it) ties its lines to the sender's.
  const log = (event.correlationId ? batchLog.child({ correlationId: event.correlationId }) : batchLog).child({ traceId: span.traceId ?? undefined });
  try {
    switch (event.type) {
      case "build.requested":
        await withDb(env, (db) => restartBuild(env, db, event.buildId, event.traceparent));
        await reportToGitLab(env, event.buildId, log);
        await reportToGitHub(env, { buildId: event.buildId }, log);
        message.ack();
        break;
      case "build.started":
        await reportToGitLab(env, event.buildId, log);
        await reportToGitHub(env, { buildId: event.buildId }, log);
        message.ack();
        break;
      case "build.completed": {
        log.info(`build ${event.buildId} ${event.status}`, { build_id: event.buildId, project_id: event.projectId });
        await reportToGitLab(env, event.buildId, log);
        await reportToGitHub(env, { buildId: event.buildId }, log);
        await notifyChannels(env, { buildId: event.buildId, status: event.status }, log);
        const outcome = event.status === "succeeded" ? await deployPush(env, event.buildId, span.traceparent) : "done";
        if (outcome === "later") message.retry({ delaySeconds: Math.min(300, 2 ** message.attempts) });
        else message.ack();
        if (typeof outcome === "string" && outcome !== "done" && outcome !== "later")
          log.info(`deployment ${outcome} started for build ${event.buildId}`, { build_id: event.buildId });
        break;
      }
      case "project.deleted": {
        const { deleted, more } = await purgeProject(env, event.projectId);
        // A long purge goes on in a fresh message rather than holding this one.
        if (more) await env.EVENTS.send(event);
        message.ack();
        log.info(`project ${event.projectId}: ${deleted} objects removed${more ? ", more to come" : ""}`, { project_id: event.projectId });
        break;
      }
      case "github.delivery": {
        const github = QueuedGitHubEvent.safeParse(event.event);
        if (!github.success) {
          await env.EVENTS_DLQ.send({ reason: "schema", messageId: message.id, body: message.body });
          message.ack();
          break;
        }
        const done = await withDb(env, (db) => deliverGitHubEvent(env, db, event.deliveryId, github.data, span.traceparent));
        log.info(`github delivery ${event.deliveryId}: ${done}`, { messageId: message.id });
        message.ack();
        break;
      }
      case "preview.closed": {
        const removed = await removeClosedPreview(env, event.projectId, event.pullRequest);
        for (const releaseId of removed?.releases ?? []) await reportToGitHub(env, { releaseId }, log);
        // Files a sweep could not reach, and what was in flight during the first: once more, later.
        if (removed && (removed.more || event.sweep === 1))
          await env.EVENTS.send({ ...event, sweep: removed.more ? event.sweep : 2 }, { delaySeconds: removed.more ? 0 : PREVIEW_SWEEP_DELAY_S });
        message.ack();
        log.info(
          removed
            ? `preview of pull request #${event.pullRequest}: ${removed.cancelled} cancelled, ${removed.deleted} objects removed (sweep ${event.sweep})`
            : `pull request #${event.pullRequest} is open again: preview kept`,
          { project_id: event.projectId },
        );
        break;
      }
      case "deployment.changed":
        await reportToGitHub(env, { releaseId: event.releaseId }, log);
        await notifyChannels(env, { releaseId: event.releaseId }, log);
        message.ack();
        break;
      case "notify.deliver":
        try {
          await deliverNotification(env, event.deliveryId, event.attempt, log);
          message.ack();
        } catch (err) {
          // Postgres failed around the attempt: the same attempt again once its claim is stale.
          log.warn(`notification ${event.deliveryId} attempt ${event.attempt} failed; will retry`, describeError(err));
          message.retry({ delaySeconds: STALE_ATTEMPT_SECONDS * 2 });
        }
        break;
      case "github.report":
        if (event.buildId) await reportToGitHub(env, { buildId: event.buildId }, log, event.attempt);
        else if (event.releaseId) await reportToGitHub(env, { releaseId: event.releaseId }, log, event.attempt);
        message.ack();
        break;
      case "deploy.requested":
        // Deployments start straight from the API or from build.completed; this event is kept
        // for producers outside this Worker and is acknowledged so it does not pile up.
        log.info(`deploy.requested for ${event.deploymentId} needs no action`, { messageId: message.id });
        message.ack();
        break;
      default: {
        const unreachable: never = event;
        throw new Error(`unhandled event ${JSON.stringify(unreachable)}`);
      }
    }
  } catch (err) {
    span.fail(err);
    log.error(`event ${event.type} failed; will retry`, { messageId: message.id, ...describeError(err) });
    message.retry();
  } finally {
    span.end();
  }
}

/**
 * A green build of a branch that a stage deploys starts its push deployment. "later" when
 * Postgres has not heard of the success yet (the coordinator's outbox may be behind the event).
 */
async function deployPush(env: Bindings, buildId: string, traceparent: string | null): Promise<string> {
  return withDb(env, async (db) => {
    const row = await buildWithProject(db, buildId);
    if (!row) return "done";
    if (row.build.status !== "succeeded") return "later";
    if (row.build.untrusted) return "done";
    // A pull request's build deploys only its own preview, never the project's stages.
    if (row.build.pullRequest !== null) {
      const preview = await startPreview(env, db, row.build, row.project);
      return "releaseId" in preview ? preview.releaseId : "done";
    }
    const started = await startDeployment(env, db, { build: row.build, project: row.project, trigger: "push", actorId: null }, undefined, traceparent);
    return started ? started.init.releaseId : "done";
  });
}

/** Runs `work` on a connection of its own, closed after. */
async function withDb<T>(env: Bindings, work: (db: Db) => Promise<T>): Promise<T> {
  const config = configOf(env);
  const { db, close } = await connect(config.DATABASE_URL, config.NEON_WS_PROXY);
  try {
    return await work(db);
  } finally {
    await close();
  }
}

/** The second sweep of a closed preview comes this long after the first (a deployment in flight has finished by then). */
const PREVIEW_SWEEP_DELAY_S = 600;

async function removeClosedPreview(env: Bindings, projectId: string, pullRequest: number) {
  const config = configOf(env);
  const cache = new Cache(config.UPSTASH_REDIS_REST_URL, config.UPSTASH_REDIS_REST_TOKEN, () => undefined, isolateMemo(config.ISOLATE_CACHE_TTL_MS));
  return withDb(env, (db) => removePreview({ env, db, cache, bucket: env.ARTIFACTS }, projectId, pullRequest));
}

/**
 * Drops the project's site entry again (a site request that read the project just before it was
 * deleted may have cached it since), then removes a page-limited share of its R2 objects.
 */
async function purgeProject(env: Bindings, projectId: string): Promise<{ deleted: number; more: boolean }> {
  const config = configOf(env);
  const cache = new Cache(config.UPSTASH_REDIS_REST_URL, config.UPSTASH_REDIS_REST_TOKEN, () => undefined, isolateMemo(config.ISOLATE_CACHE_TTL_MS));
  await cache.remove(siteKey(projectId));
  return purgeProjectObjects(env.ARTIFACTS, projectId);
}
