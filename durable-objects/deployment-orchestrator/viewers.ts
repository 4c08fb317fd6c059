/**
 * The deployment's viewers (`GET /v1/deployments/:id/events`): hibernating sockets that only
 * listen. A frame is the deployment as the API shows it, each person it names by their email as
 * it is now (server/objects/deployment-orchestrator/people.ts): the orchestrator stores user ids
 * only, so the people are looked up before a frame goes, once per batch of events, on a connection
 * of its own and only when someone is named. Frames go out in the order the events were recorded.
 */
import type { Logger } from "../../core/logging/logger.js";
import { describeError } from "../../core/logging/logger.js";
import { configOf, type Bindings } from "../../server/config.js";
import { connect, type Connection } from "../../server/db/client.js";
import { lookUpPeople, peopleIn, showDeployment, showEvent, type People, type Wanted } from "../../server/objects/deployment-orchestrator/people.js";
import type { OrchestratorView, RecordedEvent } from "../../server/objects/deployment-orchestrator/protocol.js";
import { HibernatingSockets, type ConnectionCount } from "../hibernating-sockets.js";

/** Events recorded and not yet sent, the deployment as it is now, and where to say what went wrong. */
interface Batch {
  events: RecordedEvent[];
  view: () => OrchestratorView;
  log: Logger;
}

export class DeploymentViewers {
  readonly #sockets: HibernatingSockets<null>;
  #untold: Batch | null = null;
  #telling = false;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Bindings,
    count: ConnectionCount,
  ) {
    this.#sockets = new HibernatingSockets(ctx, count);
  }

  /** Whether anyone listens (the view is read only then). */
  get watched(): boolean {
    return this.#sockets.open("viewer").length > 0;
  }

  /** Sends `event` to every viewer with the deployment as `view` gives it when the frame goes. */
  tell(event: RecordedEvent, view: () => OrchestratorView, log: Logger): void {
    if (this.#untold) Object.assign(this.#untold, { view, log }).events.push(event);
    else this.#untold = { events: [event], view, log };
    if (this.#telling) return;
    this.#telling = true;
    this.ctx.waitUntil(this.#drain());
  }

  async #drain(): Promise<void> {
    for (let batch = this.#untold; batch; batch = this.#untold) {
      this.#untold = null;
      const view = batch.view();
      try {
        const people = await this.#people(peopleIn({ stages: view.stages, events: [...view.events, ...batch.events] }));
        const deployment = showDeployment(view, people);
        for (const event of batch.events) this.#sockets.broadcast("viewer", { event: showEvent(event, people), deployment });
      } catch (err) {
        // Without the people no frame can be shown: the viewers reconnect and catch up.
        batch.log.warn("could not look up the people a deployment names; its viewers are asked to reconnect", {
          deployment_id: view.id,
          ...describeError(err),
        });
        for (const ws of this.#sockets.open("viewer")) this.#sockets.close(ws, 1011, "try again");
      }
    }
    this.#telling = false;
  }

  /** A new viewer, sent the last event (if any) with the deployment. */
  async welcome(ws: WebSocket, last: RecordedEvent | undefined, view: OrchestratorView, log: Logger): Promise<void> {
    this.#sockets.accept(ws, "viewer", null);
    if (!last) return;
    try {
      const people = await this.#people(peopleIn(view));
      this.#sockets.send(ws, { event: showEvent(last, people), deployment: showDeployment(view, people) });
    } catch (err) {
      log.warn("could not look up the people a deployment names; the viewer is asked to reconnect", { deployment_id: view.id, ...describeError(err) });
      this.#sockets.close(ws, 1011, "try again");
    }
  }

  /** The object's webSocketClose. */
  closed(ws: WebSocket, code: number): void {
    this.#sockets.closed(ws, code);
  }

  /** The object's webSocketError. */
  ended(ws: WebSocket): void {
    this.#sockets.ended(ws);
  }

  async #people(wanted: Wanted): Promise<People> {
    let connection: Connection | undefined;
    try {
      return await lookUpPeople(async () => {
        const config = configOf(this.env);
        connection = await connect(config.DATABASE_URL, config.NEON_WS_PROXY);
        return connection.db;
      }, wanted);
    } finally {
      await connection?.close();
    }
  }
}
