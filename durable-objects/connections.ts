/**
 * The open-connections gauge (`sparki_api_active_connections`, a seed metric): each object's
 * hibernating sockets tell the Metrics object +1 when one opens and -1 when it ends, labelled by
 * the object's kind and the socket's (runner, viewer), so the series stay few.
 */
import type { Bindings } from "../server/config.js";
import { metricsObject } from "../server/objects/clients.js";
import type { ConnectionCount } from "./hibernating-sockets.js";

export function countConnections(env: Bindings, ctx: DurableObjectState, object: string): ConnectionCount {
  return (kind, delta) =>
    ctx.waitUntil(
      metricsObject(env)
        .record([{ kind: "updown", name: "sparki_api_active_connections", labels: { object, kind }, value: delta }])
        // A lost sample must never break a socket: the gauge is off by one until the next restart of the count.
        .catch(() => undefined),
    );
}
