import { createApp } from "./app.js";
import type { Bindings } from "./env.js";
import { consumeEvents } from "./queue.js";

export { BuildCoordinator } from "../durable-objects/build-coordinator/object.js";
export { RunnerDispatcher } from "../durable-objects/runner-dispatcher/object.js";
export { Metrics } from "../durable-objects/metrics/object.js";
export { DeploymentOrchestrator } from "../durable-objects/deployment-orchestrator/object.js";

const app = createApp();

export default {
  fetch: app.fetch,
  // The context is part of the handler's contract even where this consumer needs none of it.
  queue: (batch, env, _ctx: ExecutionContext) => consumeEvents(batch, env),
} satisfies ExportedHandler<Bindings>;
