/**
 * PGlite (Postgres 18 in WebAssembly) served over the Postgres wire protocol on TCP, for local
 * development and tests: `pg`, drizzle-kit and the Neon driver (through dev/ws-proxy.ts) connect to
 * it like to any Postgres.
 *
 * PGlite is one single-user backend, so every connection shares it. Not
 * @electric-sql/pglite-socket: it interleaves the messages of different connections (measured:
 * wrong results and hangs under 20 clients). The rule here: a connection owns the backend from its
 * first message until a response ends with ReadyForQuery 'I' (idle); while a transaction is open
 * ('T' or 'E') it keeps it. Other connections queue FIFO. An owner that disconnects is rolled back;
 * one that stays idle too long is disconnected, so a cross-connection deadlock becomes an error.
 *
 * Session state (SET, temp tables, LISTEN) is shared by all connections; named prepared statements
 * and portals are kept apart by renaming them per connection (see pg-wire.ts).
 */
import { existsSync, mkdirSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import {
  authenticationOk,
  backendKeyData,
  BATCH_END_TYPES,
  CANCEL_REQUEST,
  closeMessage,
  errorResponse,
  FRONTEND_TYPES,
  GSSENC_REQUEST,
  MAX_MESSAGE_BYTES,
  parameterStatus,
  parameterStatuses,
  ProtocolError,
  queryMessage,
  readStartupPacket,
  readyForQuery,
  refuseCopyFromStdin,
  renameStatements,
  splitMessages,
  SSL_REQUEST,
  startupMessage,
  syncMessage,
  trailingReadyStatus,
} from "./pg-wire.ts";
import { initdbTemplate, saveInitdbTemplate } from "./pglite-template.ts";

/** Options of {@link startPgliteServer}. */
export interface PgliteServerOptions {
  /** Directory holding the database; created if missing. In memory when omitted. */
  dataDir?: string;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** An owner of the backend idle this long (inside a transaction or mid-request) is disconnected. Default 30 000. */
  idleTimeoutMs?: number;
  /** Receives diagnostic lines; silent by default. */
  log?: (line: string) => void;
  /** A new database starts from this dump (pglite-template.ts) instead of the empty cluster's. */
  template?: Blob;
}

/** A running server; `close()` disconnects every client, stops PGlite and frees the port. */
export interface PgliteServer {
  port: number;
  /** postgres://postgres@HOST:PORT/postgres (any user, database and password are accepted). */
  url: string;
  /**
   * Open client connections, connections queued for the backend, and who holds it: for how long,
   * and how long its current statement has run (null between statements). For a stuck test's report.
   */
  stats(): { connections: number; waiting: number; owner: { id: number; heldMs: number; executingMs: number | null } | null };
  /** Keeps this database as the template `name` for later new ones (pglite-template.ts). */
  saveTemplate(name: string): Promise<void>;
  close(): Promise<void>;
}

interface Conn {
  id: number;
  socket: Socket;
  phase: "startup" | "ready";
  closed: boolean;
  /** Received bytes not yet split into messages. */
  inbuf: Buffer;
  /** Messages to run; the first `batchEnd` form a batch that ends at a Sync, Query, Flush… */
  pending: Buffer[];
  pendingBytes: number;
  batchEnd: number;
  /** Terminate received: close once the pending batch has run. */
  terminating: boolean;
  /** Named prepared statements (renamed) to close when the connection ends. */
  statements: Set<string>;
  idleTimer: NodeJS.Timeout | undefined;
}

/** A server that listens before it is ready (see {@link openPgliteServer}). */
export type OpeningPgliteServer = PgliteServer & { ready: Promise<void> };

/** Starts PGlite and serves it on TCP. Resolves once connections are accepted and PGlite is ready. */
export async function startPgliteServer(opts: PgliteServerOptions = {}): Promise<PgliteServer> {
  return whenReady(await openPgliteServer(opts));
}

/** The server once it is ready; closed, and the failure thrown, when it cannot be. */
export async function whenReady(server: OpeningPgliteServer): Promise<PgliteServer> {
  try {
    await server.ready;
    return server;
  } catch (err) {
    await server.close();
    throw err;
  }
}

/**
 * Listens at once and loads PGlite in the background (a second or two of WebAssembly and the
 * data directory), so a caller can hand the address to what starts next. What clients send
 * before `ready` waits and is served, in order, once it is.
 */
export async function openPgliteServer(opts: PgliteServerOptions = {}): Promise<OpeningPgliteServer> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? "127.0.0.1";
  const idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
  let db!: PGlite;
  let statuses: [string, string][] = [];
  let loaded = false;

  const conns = new Set<Conn>();
  const queue: Conn[] = [];
  let owner: Conn | null = null;
  let ownedAt = 0;
  let executingSince: number | null = null;
  let pumping: Promise<void> | null = null;
  let closing = false;
  let nextId = 1;

  const exec = async (bytes: Buffer): Promise<Uint8Array> => {
    executingSince = Date.now();
    try {
      return await db.execProtocolRaw(bytes);
    } finally {
      executingSince = null;
    }
  };

  const hasWork = (c: Conn): boolean => (c.closed ? owner === c || c.statements.size > 0 : c.batchEnd > 0);

  function send(c: Conn, bytes: Uint8Array): void {
    if (!c.closed && !c.socket.destroyed && bytes.length > 0) c.socket.write(bytes);
  }

  function clearIdle(c: Conn): void {
    if (c.idleTimer) clearTimeout(c.idleTimer);
    c.idleTimer = undefined;
  }

  /** Marks a connection gone; its transaction (if it owns the backend) is rolled back by the pump. */
  function closeConn(c: Conn, final?: Buffer): void {
    if (c.closed) return;
    // Flush the final message (if any), then make sure the socket goes even if the peer lingers.
    if (final && !c.socket.destroyed) c.socket.end(final, () => c.socket.destroy());
    else c.socket.destroy();
    c.closed = true;
    clearIdle(c);
    c.pending = [];
    c.batchEnd = 0;
    conns.delete(c);
    const i = queue.indexOf(c);
    if (i >= 0) queue.splice(i, 1);
    if (owner !== c && c.statements.size > 0) queue.push(c);
    kick();
  }

  function armIdle(c: Conn): void {
    clearIdle(c);
    c.idleTimer = setTimeout(() => {
      if (owner !== c || hasWork(c)) return;
      log(`conn ${c.id}: idle ${idleTimeoutMs} ms while owning the backend, disconnecting`);
      closeConn(
        c,
        errorResponse(
          "FATAL",
          "25P03",
          `terminating connection: idle for ${idleTimeoutMs} ms inside a transaction or request while holding the ` +
            `single PGlite backend (other connections wait for it; a deadlock between connections ends here)`,
        ),
      );
    }, idleTimeoutMs);
    c.idleTimer.unref();
  }

  function kick(): void {
    if (pumping) return;
    pumping = pump().finally(() => {
      pumping = null;
      if (next(false)) kick();
    });
  }

  /** The connection to serve next; with `take`, it becomes the owner. */
  function next(take = true): Conn | null {
    if (owner) return hasWork(owner) ? owner : null;
    const found = queue.find(hasWork) ?? null;
    if (found && take) {
      queue.splice(queue.indexOf(found), 1);
      owner = found;
      ownedAt = Date.now();
    }
    return found;
  }

  async function pump(): Promise<void> {
    for (let c = next(); c; c = next()) {
      clearIdle(c);
      try {
        if (c.closed) await cleanup(c);
        else await step(c);
      } catch (err) {
        // A JS-level failure of PGlite itself. Drop the client (the next round cleans up after it);
        // if the cleanup itself failed, give up on it rather than retry forever.
        log(`conn ${c.id}: backend failure: ${String(err)}`);
        if (!c.closed) closeConn(c, errorResponse("FATAL", "XX000", `pglite-server: ${String(err)}`));
        else {
          c.statements.clear();
          if (owner === c) owner = null;
        }
      }
    }
  }

  async function step(c: Conn): Promise<void> {
    const batch = Buffer.concat(c.pending.splice(0, c.batchEnd));
    c.pendingBytes -= batch.length;
    c.batchEnd = 0;
    const out = await exec(batch);
    send(c, out);
    if (trailingReadyStatus(out) === "I") {
      owner = null;
      if (hasWork(c)) queue.push(c);
    }
    if (c.terminating && c.batchEnd === 0) closeConn(c, Buffer.alloc(0));
    else if (owner === c && !hasWork(c)) armIdle(c);
  }

  /** Undoes what a vanished connection left in the backend, then releases it. */
  async function cleanup(c: Conn): Promise<void> {
    if (owner === c) {
      // ROLLBACK as a simple query also aborts an implicit extended-protocol transaction; after an
      // error the backend skips everything up to Sync, so a second ROLLBACK follows the Sync.
      await exec(Buffer.concat([queryMessage("ROLLBACK"), syncMessage()]));
      if (db.isInTransaction()) await exec(queryMessage("ROLLBACK"));
    }
    if (c.statements.size > 0) {
      await exec(Buffer.concat([...[...c.statements].map((n) => closeMessage("S", n)), syncMessage()]));
      c.statements.clear();
    }
    if (owner === c) owner = null;
    log(`conn ${c.id}: cleaned up`);
  }

  function startupReply(c: Conn, params: Record<string, string>): Buffer {
    const app = params.application_name ?? "";
    return Buffer.concat([
      authenticationOk(),
      ...statuses.map(([k, v]) => parameterStatus(k, k === "application_name" ? app : v)),
      backendKeyData(c.id, Math.floor(Math.random() * 2 ** 31)),
      readyForQuery("I"),
    ]);
  }

  function onData(c: Conn, chunk: Buffer): void {
    if (c.closed || c.terminating) return;
    c.inbuf = c.inbuf.length ? Buffer.concat([c.inbuf, chunk]) : chunk;
    try {
      while (c.phase === "startup") {
        const pkt = readStartupPacket(c.inbuf);
        if (!pkt) return;
        c.inbuf = c.inbuf.subarray(pkt.length);
        if (pkt.code === SSL_REQUEST || pkt.code === GSSENC_REQUEST) {
          c.socket.write("N"); // no TLS locally; the client continues in plain text
        } else if (pkt.code === CANCEL_REQUEST) {
          return closeConn(c); // nothing to cancel: a query runs synchronously inside PGlite
        } else if (pkt.code >> 16 === 3) {
          c.socket.write(startupReply(c, pkt.params));
          c.phase = "ready";
        } else {
          return closeConn(c, errorResponse("FATAL", "0A000", `unsupported frontend protocol ${pkt.code >> 16}.${pkt.code & 0xffff}`));
        }
      }
      const { messages, rest } = splitMessages(c.inbuf);
      c.inbuf = rest;
      const track = { onParse: (n: string) => c.statements.add(n), onClose: (n: string) => c.statements.delete(n) };
      for (const m of messages) {
        // Password/SASL messages: authentication is "trust", AuthenticationOk was already sent. A
        // client pipelining its password after the startup packet must not reach PGlite (it would
        // answer with an endless stream of "protocol synchronization was lost").
        if (m.type === "p") continue;
        if (!FRONTEND_TYPES.has(m.type)) throw new ProtocolError(`invalid frontend message type ${m.bytes[0]}`);
        if (m.type === "X") {
          c.terminating = true;
          break;
        }
        const bytes = renameStatements({ type: m.type, bytes: refuseCopyFromStdin(m) }, `s${c.id}_`, track);
        c.pending.push(bytes);
        c.pendingBytes += bytes.length;
        if (BATCH_END_TYPES.has(m.type)) c.batchEnd = c.pending.length;
      }
      if (c.pendingBytes > MAX_MESSAGE_BYTES) throw new ProtocolError("too much unsynced data");
    } catch (err) {
      const text = err instanceof ProtocolError ? err.message : String(err);
      log(`conn ${c.id}: protocol error: ${text}`);
      return closeConn(c, errorResponse("FATAL", "08P01", `pglite-server: ${text}`));
    }
    if (c.terminating && c.batchEnd === 0) return closeConn(c, Buffer.alloc(0));
    if (hasWork(c) && owner !== c && !queue.includes(c)) queue.push(c);
    kick();
  }

  const server: Server = createServer((socket) => {
    if (closing) return void socket.destroy();
    socket.setNoDelay(true);
    const c: Conn = {
      id: nextId++,
      socket,
      phase: "startup",
      closed: false,
      inbuf: Buffer.alloc(0),
      pending: [],
      pendingBytes: 0,
      batchEnd: 0,
      terminating: false,
      statements: new Set(),
      idleTimer: undefined,
    };
    conns.add(c);
    // Before PGlite is loaded, chunks wait on `ready` in arrival order (callbacks of one promise
    // run in the order they were added; `loaded` flips in the first of them).
    socket.on("data", (chunk: Buffer) => {
      if (loaded) onData(c, chunk);
      else
        ready.then(
          () => onData(c, chunk),
          () => closeConn(c),
        );
    });
    socket.on("error", (err) => log(`conn ${c.id}: socket error: ${err.message}`));
    socket.on("close", () => closeConn(c));
  });

  const listening = new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, host, () => ok());
  });
  // Loading starts only once the port is ours: a caller retrying on another port (EADDRINUSE)
  // must not have two PGlites opening one data directory.
  const ready = listening.then(async () => {
    const started = Date.now();
    const dir = opts.dataDir ? resolve(opts.dataDir) : undefined;
    // A new database (in memory, or a directory without a cluster yet) starts from the dump of an
    // empty cluster when there is one (pglite-template.ts), not from initdb.
    const fresh = !dir || !existsSync(join(dir, "PG_VERSION"));
    const template = fresh ? (opts.template ?? initdbTemplate()) : undefined;
    if (dir) mkdirSync(dir, { recursive: true });
    db = new PGlite(dir, template ? { loadDataDir: template } : {});
    await db.waitReady;
    if (fresh && !template) await saveInitdbTemplate(db);
    // One real startup exchange gives the ParameterStatus values every client is then told.
    statuses = parameterStatuses(await db.execProtocolRaw(startupMessage({ user: "postgres", database: "postgres" })));
    log(`pglite ready in ${Date.now() - started} ms (${opts.dataDir ?? "in memory"})`);
  });
  ready.then(
    () => (loaded = true),
    (err) => {
      for (const c of [...conns]) closeConn(c, errorResponse("FATAL", "57P03", `pglite-server: the database did not start: ${String(err)}`));
    },
  );
  await listening;
  server.on("error", (err) => log(`pglite-server: ${err.message}`));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  log(`pglite-server listening on ${urlHost}:${port}`);

  return {
    port,
    url: `postgres://postgres@${urlHost}:${port}/postgres`,
    ready,
    stats: () => ({
      connections: conns.size,
      waiting: queue.length,
      owner: owner && { id: owner.id, heldMs: Date.now() - ownedAt, executingMs: executingSince === null ? null : Date.now() - executingSince },
    }),
    // Between requests only (no client mid-transaction): the caller has just closed its one client.
    saveTemplate: (name) => saveInitdbTemplate(db, name),
    async close() {
      if (closing) return;
      closing = true;
      const stopped = new Promise<void>((ok) => server.close(() => ok()));
      for (const c of [...conns]) closeConn(c);
      const started = await ready.then(
        () => true,
        () => false,
      );
      while (pumping) await pumping;
      if (started) await db.close();
      await stopped;
    },
  };
}
