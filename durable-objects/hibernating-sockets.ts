/**
 * WebSockets on the hibernation API, one way for every Durable Object (after cloudflare/partykit's
 * partyserver connection.ts). A socket is accepted with its kind as its first tag (plus tags to
 * look it up by), the object's data for it lives in a namespaced attachment so it survives
 * hibernation, lookups go through getWebSockets(tag), and `closed` (the object's webSocketClose)
 * always answers the peer's close frame, with a code that may be sent.
 */

/**
 * Codes a peer may report but no endpoint may send (RFC 6455 §7.4.1): 1004 is reserved, 1005 means
 * "no code", 1006 a connection lost without a close frame, 1015 a TLS failure. workerd throws on
 * them, and outside 1000–4999.
 */
const unsendable = new Set([1004, 1005, 1006, 1015]);

/** The code that answers a peer's close: its own when it may be sent, else 1000 (normal closure). */
export function answerCode(code: number): number {
  return code >= 1000 && code <= 4999 && !unsendable.has(code) ? code : 1000;
}

/** The attachment as stored: the helper's part and the object's, apart (partyserver's `__pk`/`__user`). */
interface Stored<D> {
  /** `counted`: the socket is in the open-connections count (so it leaves it once, however it ends). */
  socket: { kind: string; counted?: boolean };
  data: D;
}

/** Told when a socket of `kind` opens (+1) or ends (-1), for the open-connections gauge. */
export type ConnectionCount = (kind: string, delta: 1 | -1) => void;

const isStored = (value: unknown): value is Stored<unknown> =>
  typeof value === "object" && value !== null && "socket" in value && typeof (value as Stored<unknown>).socket?.kind === "string";

/**
 * The hibernating sockets of one object. `D` is what the object keeps per socket (a role, a
 * position in a stream); sockets the object accepted some other way are left alone.
 */
export class HibernatingSockets<D> {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly count: ConnectionCount = () => {},
  ) {}

  /** Accepts a socket of `kind` with its data, findable by `kind` and each of `tags`. */
  accept(ws: WebSocket, kind: string, data: D, tags: readonly string[] = []): void {
    this.ctx.acceptWebSocket(ws, [kind, ...tags.filter((t) => t !== kind)]);
    ws.serializeAttachment({ socket: { kind, counted: true }, data } satisfies Stored<D>);
    this.count(kind, 1);
  }

  /** The socket's data; null for a socket this helper did not accept. */
  data(ws: WebSocket): D | null {
    const stored: unknown = ws.deserializeAttachment();
    return isStored(stored) ? (stored.data as D) : null;
  }

  /** Replaces the socket's data (kept across hibernation). */
  setData(ws: WebSocket, data: D): void {
    const stored: unknown = ws.deserializeAttachment();
    if (isStored(stored)) ws.serializeAttachment({ socket: stored.socket, data } satisfies Stored<D>);
  }

  /** The open sockets with `tag` (a kind or a lookup tag), but `except`. */
  open(tag: string, except?: WebSocket): WebSocket[] {
    // Only accept() gives tags, so every socket found by one is this helper's.
    return this.ctx.getWebSockets(tag).filter((ws) => ws !== except && ws.readyState === WebSocket.OPEN);
  }

  /** Sends a frame; false when the socket closed meanwhile (its close handler cleans up). */
  send(ws: WebSocket, frame: string | object): boolean {
    try {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Sends one frame, serialised once, to every open socket with `tag`. */
  broadcast(tag: string, frame: string | object): void {
    const sockets = this.open(tag);
    if (sockets.length === 0) return;
    const text = typeof frame === "string" ? frame : JSON.stringify(frame);
    for (const ws of sockets) this.send(ws, text);
  }

  /** Closes a socket from this side; one that is already closing or gone is left as it is. */
  close(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(answerCode(code), reason);
    } catch {
      // Already closed.
    }
  }

  /**
   * The object's webSocketClose: answers the peer's close frame (1005 and 1006 come back as
   * 1000, since they may not be sent) and returns the socket's kind and data, for bookkeeping.
   */
  closed(ws: WebSocket, code: number): { kind: string; data: D } | null {
    this.close(ws, code, "closing");
    return this.ended(ws);
  }

  /**
   * A socket that ended, by a close or an error (the object's webSocketError): it leaves the
   * open-connections count, once. Returns its kind and data as {@link closed} does.
   */
  ended(ws: WebSocket): { kind: string; data: D } | null {
    const stored: unknown = ws.deserializeAttachment();
    if (!isStored(stored)) return null;
    if (stored.socket.counted) {
      try {
        ws.serializeAttachment({ socket: { kind: stored.socket.kind, counted: false }, data: stored.data } satisfies Stored<unknown>);
      } catch {
        // workerd keeps a closed socket's attachment; should it refuse, a later end could count twice.
      }
      this.count(stored.socket.kind, -1);
    }
    return { kind: stored.socket.kind, data: stored.data as D };
  }
}
