/**
 * The hibernating-socket helper inside a real object (runInDurableObject): tags, data across
 * calls, and the close frame answered whatever code the peer's close reported, 1006 included
 * (the orchestrator used to echo it, which workerd refuses, leaving the close unanswered).
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deploymentOrchestrator } from "../server/objects/clients.js";
import type { DeploymentOrchestrator } from "./deployment-orchestrator/object.js";
import { answerCode, HibernatingSockets } from "./hibernating-sockets.js";

/** An orchestrator to borrow a DurableObjectState from (the helper works on any object's). */
const anObject = () => deploymentOrchestrator(env, crypto.randomUUID()) as unknown as DurableObjectStub<DeploymentOrchestrator>;

/** A socket pair; `listen` (once the server side is accepted) reports the close code the client gets. */
function pair(): { server: WebSocket; listen: () => Promise<number> } {
  const { 0: client, 1: server } = new WebSocketPair();
  return {
    server,
    listen: () => {
      client.accept();
      return new Promise<number>((resolve) => client.addEventListener("close", (e) => resolve(e.code)));
    },
  };
}

describe("answerCode", () => {
  it.each([
    [1000, 1000],
    [1001, 1001],
    [4001, 4001],
    [1004, 1000],
    [1005, 1000],
    [1006, 1000],
    [1015, 1000],
    [999, 1000],
    [5000, 1000],
  ])("answers a close with code %i with %i", (code, answer) => {
    expect(answerCode(code)).toBe(answer);
  });
});

describe("HibernatingSockets", () => {
  it("finds sockets by kind and tag, keeps their data, and leaves out closed ones", async () => {
    await runInDurableObject(anObject(), async (_object, state) => {
      const sockets = new HibernatingSockets<{ sent: number }>(state);
      const a = pair();
      const b = pair();
      sockets.accept(a.server, "viewer", { sent: 0 }, ["job:one"]);
      sockets.accept(b.server, "viewer", { sent: 5 });
      const [aClosed, bClosed] = [a.listen(), b.listen()];
      expect(sockets.open("viewer")).toHaveLength(2);
      expect(sockets.open("job:one")).toHaveLength(1);
      expect(sockets.open("viewer", a.server)).toHaveLength(1);
      sockets.setData(a.server, { sent: 9 });
      expect(sockets.data(a.server)).toEqual({ sent: 9 });
      expect(sockets.closed(a.server, 1000)).toEqual({ kind: "viewer", data: { sent: 9 } });
      expect(await aClosed).toBe(1000);
      expect(sockets.open("viewer")).toHaveLength(1);
      // Sending to a closed socket is no error: its close handler has cleaned up.
      expect(sockets.send(a.server, { type: "status" })).toBe(false);
      sockets.closed(b.server, 1001);
      expect(await bClosed).toBe(1001);
    });
  });

  it("answers a connection lost without a close frame (1006) with 1000, in the orchestrator's own webSocketClose", async () => {
    await runInDurableObject(anObject(), async (object, state) => {
      const { server, listen } = pair();
      new HibernatingSockets<null>(state).accept(server, "viewer", null);
      const closed = listen();
      await object.webSocketClose(server, 1006);
      expect(await closed).toBe(1000);
    });
  });

  it("leaves a socket another part of the object accepted without the helper alone", async () => {
    await runInDurableObject(anObject(), async (_object, state) => {
      const { server } = pair();
      state.acceptWebSocket(server);
      server.serializeAttachment({ role: "viewer" });
      expect(new HibernatingSockets(state).data(server)).toBeNull();
    });
  });
});
