import { eq } from "drizzle-orm";
import { SparkiEvent } from "../core/contracts/events.js";
import { buildInit } from "./services/builds.js";
import { connect } from "./db/client.js";
import { builds, projects } from "./db/schema.js";
import { configOf, type Bindings } from "./env.js";
import { describeError, Logger } from "./log.js";

/**
 * Consumer of `sparki-events`. A message that does not parse can never succeed, so it goes
 * straight to the dead-letter queue instead of being retried. `build.requested` (re)starts the
 * build's coordinator, which is idempotent: the API already started it directly for a fast pickup,
 * and the queue makes sure a build whose direct start failed still runs. An event this consumer
 * cannot handle yet is retried, and dead-lettered after max_retries, never silently dropped.
 */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const log = new Logger({ service: "sparki-api", component: "queue", correlationId: `batch_${crypto.randomUUID()}` }, configOf(env).LOG_LEVEL);
  for (const message of batch.messages) {
    const parsed = SparkiEvent.safeParse(message.body);
    if (!parsed.success) {
      log.warn("malformed event sent to the dead-letter queue", { messageId: message.id, issues: parsed.error.issues.length });
      await env.EVENTS_DLQ.send({ reason: "schema", messageId: message.id, body: message.body });
      message.ack();
      continue;
    }
    const event = parsed.data;
    try {
      switch (event.type) {
        case "build.requested":
          await startBuild(env, event.buildId);
          message.ack();
          break;
        case "build.completed":
          log.info(`build ${event.buildId} ${event.status}`, { build_id: event.buildId, project_id: event.projectId });
          message.ack();
          break;
        case "deploy.requested":
          log.warn("no deployment handler yet; will retry", { messageId: message.id });
          message.retry();
          break;
        default: {
          const unreachable: never = event;
          throw new Error(`unhandled event ${JSON.stringify(unreachable)}`);
        }
      }
    } catch (err) {
      log.error(`event ${event.type} failed; will retry`, { messageId: message.id, ...describeError(err) });
      message.retry();
    }
  }
}

async function startBuild(env: Bindings, buildId: string): Promise<void> {
  const config = configOf(env);
  const { db, close } = await connect(config.DATABASE_URL, config.NEON_WS_PROXY);
  try {
    const [row] = await db
      .select({ build: builds, project: { id: projects.id, workspaceId: projects.workspaceId, gitUrl: projects.gitUrl, framework: projects.framework } })
      .from(builds)
      .innerJoin(projects, eq(projects.id, builds.projectId))
      .where(eq(builds.id, buildId));
    if (!row) return; // deleted since: nothing to run
    await env.BUILD_COORDINATOR.get(env.BUILD_COORDINATOR.idFromName(buildId)).start(buildInit(row.build, row.project));
  } finally {
    await close();
  }
}
