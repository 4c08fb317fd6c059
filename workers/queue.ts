import { SparkiEvent } from "../core/contracts/events.js";
import type { Bindings } from "./env.js";
import { Logger } from "./log.js";

/**
 * Consumer of `sparki-events`. A message that does not parse can never succeed, so it goes
 * straight to the dead-letter queue instead of being retried. Events with no handler yet are
 * retried (and dead-lettered after max_retries), so none is silently dropped.
 */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const log = new Logger({ service: "sparki-api", component: "queue", correlationId: `batch_${crypto.randomUUID()}` }, "info");
  for (const message of batch.messages) {
    const parsed = SparkiEvent.safeParse(message.body);
    if (!parsed.success) {
      log.warn("malformed event sent to the dead-letter queue", { messageId: message.id, issues: parsed.error.issues.length });
      await env.EVENTS_DLQ.send({ reason: "schema", messageId: message.id, body: message.body });
      message.ack();
      continue;
    }
    log.warn(`no handler for ${parsed.data.type} yet; will retry`, { messageId: message.id, correlation_id: parsed.data.correlationId });
    message.retry();
  }
}
