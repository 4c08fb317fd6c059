import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { message, queryMessage, startupMessage, SSL_REQUEST } from "./pg-wire.ts";
import { openPgliteServer, startPgliteServer, type PgliteServer } from "./pglite-server.ts";
import { initdbTemplate } from "./pglite-template.ts";
import { until } from "../test/until.ts";

/** A raw protocol session, for what `pg` will not do (pipelined password, dying mid-transaction). */
function raw(port: number): Promise<{ socket: Socket; received: () => Buffer; until: (pred: (b: Buffer) => boolean) => Promise<Buffer> }> {
  return new Promise((ok, fail) => {
    let got = Buffer.alloc(0);
    const waiters: Array<() => void> = [];
    const socket = connect(port, "127.0.0.1", () =>
      ok({
        socket,
        received: () => got,
        until: (pred) =>
          new Promise((done, reject) => {
            const check = (): void => (pred(got) ? done(got) : void waiters.push(check));
            socket.once("close", () => (pred(got) ? done(got) : reject(new Error(`closed; got ${got.toString("latin1")}`))));
            check();
          }),
      }),
    );
    socket.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      for (const w of waiters.splice(0)) w();
    });
    socket.on("error", fail);
  });
}
const endsWithReady = (status: string) => (b: Buffer) => b.length >= 6 && b.subarray(-6).toString("latin1") === `Z\0\0\0\x05${status}`;

describe("pglite-server (in memory)", () => {
  let server: PgliteServer;
  let startMs = 0;
  beforeAll(async () => {
    const t0 = Date.now();
    server = await startPgliteServer();
    startMs = Date.now() - t0;
    console.log(`PGlite in-memory server started in ${startMs} ms`);
    const c = new pg.Client(server.url);
    await c.connect();
    await c.query("CREATE TABLE items (client int, i int, note text, PRIMARY KEY (client, i))");
    await c.end();
  });
  afterAll(async () => server?.close());

  it("serves 20 concurrent clients mixing extended-protocol queries and transactions correctly", async () => {
    const clients = 20;
    const rounds = 30;
    let right = 0;
    const wrong: string[] = [];
    const check = (ok: boolean, what: string): void => void (ok ? right++ : wrong.push(what));
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        const c = new pg.Client(server.url);
        await c.connect();
        for (let i = 0; i < rounds; i++) {
          const echo = await c.query("SELECT $1::int * 2 AS doubled, $2::text AS tag", [client * 1000 + i, `c${client}`]);
          check(echo.rows[0]?.doubled === (client * 1000 + i) * 2 && echo.rows[0]?.tag === `c${client}`, `echo ${client}/${i}`);
          await c.query("BEGIN");
          await c.query("INSERT INTO items VALUES ($1, $2, $3)", [client, i, `n${i}`]);
          const inTx = await c.query("SELECT count(*)::int AS n FROM items WHERE client = $1 AND i = $2", [client, i]);
          check(inTx.rows[0]?.n === 1, `in-tx count ${client}/${i}`);
          const commit = i % 3 !== 2;
          await c.query(commit ? "COMMIT" : "ROLLBACK");
          const after = await c.query("SELECT note FROM items WHERE client = $1 AND i = $2", [client, i]);
          check(commit ? after.rows[0]?.note === `n${i}` : after.rowCount === 0, `after ${commit ? "commit" : "rollback"} ${client}/${i}`);
          // Named statements with the same name on every connection must not collide.
          const named = await c.query({ name: "mine", text: "SELECT $1::int + 0 AS me", values: [client] });
          check(named.rows[0]?.me === client, `named ${client}/${i}`);
        }
        await c.end();
      }),
    );
    console.log(`20-client stress: ${right} right, ${wrong.length} wrong in ${Date.now() - t0} ms`);
    expect(wrong).toEqual([]);
    expect(right).toBe(clients * rounds * 4);
    const c = new pg.Client(server.url);
    await c.connect();
    const { rows } = await c.query("SELECT count(*)::int AS n FROM items");
    expect(rows[0]?.n).toBe(clients * (rounds - Math.floor(rounds / 3)));
    // The named statements of the closed connections were deallocated.
    expect((await c.query("SELECT name FROM pg_prepared_statements")).rows).toEqual([]);
    // A 3 MB parameter arrives in many TCP chunks and must still come back whole.
    const big = "x".repeat(3 * 1024 * 1024);
    expect((await c.query("SELECT length($1::text) AS n", [big])).rows).toEqual([{ n: big.length }]);
    await c.end();
  });

  it("rolls back a client killed mid-transaction and lets the others go on", async () => {
    const victim = await raw(server.port);
    victim.socket.write(startupMessage({ user: "postgres", database: "postgres" }));
    await victim.until(endsWithReady("I"));
    victim.socket.write(queryMessage("BEGIN; INSERT INTO items VALUES (999, 1, 'partial')"));
    await victim.until(endsWithReady("T"));
    // While it holds the backend, another client queues behind it.
    const other = new pg.Client(server.url);
    await other.connect();
    const pending = other.query("SELECT count(*)::int AS n FROM items WHERE client = 999");
    await until("the other client to queue behind the victim", () => server.stats().waiting === 1);
    victim.socket.destroy();
    const { rows } = await pending;
    expect(rows[0]?.n).toBe(0);
    await other.end();
  });

  it("refuses COPY FROM STDIN with an error instead of letting PGlite exit the process", async () => {
    const c = new pg.Client(server.url);
    await c.connect();
    await c.query("BEGIN");
    await expect(c.query("/* load */ COPY items FROM STDIN")).rejects.toThrow(/COPY FROM STDIN is not supported/);
    await expect(c.query("SELECT 1")).rejects.toThrow(/current transaction is aborted/);
    await c.query("ROLLBACK");
    await expect(c.query("copy items (client) from stdin where client = $1", [1])).rejects.toThrow(/not supported/);
    expect((await c.query("SELECT 'copy x from stdin' AS s")).rows).toEqual([{ s: "copy x from stdin" }]);
    await c.end();
  });

  it("handles SSLRequest, a pipelined password, Terminate and garbage without harm", async () => {
    const s = await raw(server.port);
    const ssl = Buffer.alloc(8);
    ssl.writeInt32BE(8, 0);
    ssl.writeInt32BE(SSL_REQUEST, 4);
    s.socket.write(ssl);
    await s.until((b) => b.toString("latin1") === "N");
    // Startup, password and a query in one write: what the Neon driver does with pipelineConnect.
    s.socket.write(Buffer.concat([startupMessage({ user: "postgres" }), message("p", Buffer.from("secret\0")), queryMessage("SELECT 7")]));
    const got = await s.until((b) => b.includes(Buffer.from("SELECT 1\0")) && endsWithReady("I")(b));
    expect(got.toString("latin1")).not.toContain("synchronization");
    s.socket.write(message("X"));
    await new Promise((r) => s.socket.once("close", r));

    // An unknown message type would make PGlite exit the process; the server must stop it first.
    const odd = await raw(server.port);
    odd.socket.write(startupMessage({ user: "postgres" }));
    await odd.until(endsWithReady("I"));
    odd.socket.write(message("Z", Buffer.from("?")));
    expect(await odd.until(() => false).catch((e: Error) => e.message)).toContain("invalid frontend message type 90");

    const bad = await raw(server.port);
    bad.socket.write(Buffer.from([0, 0, 0, 2, 1, 2, 3, 4]));
    const err = await bad.until(() => false).catch((e: Error) => e.message);
    expect(err).toContain("startup packet length");
    const c = new pg.Client(server.url);
    await c.connect();
    expect((await c.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await c.end();
  });
});

describe("pglite-server (dataDir)", () => {
  let dataDir = "";
  beforeAll(() => void (dataDir = mkdtempSync(join(tmpdir(), "sparki-pglite-"))));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("keeps data across close and restart, and times out an idle owner", async () => {
    const first = await startPgliteServer({ dataDir, idleTimeoutMs: 1000 });
    const a = new pg.Client(first.url);
    await a.connect();
    await a.query("CREATE TABLE kept (id int PRIMARY KEY, v text)");
    await a.query("INSERT INTO kept VALUES ($1, $2), ($3, $4)", [1, "one", 2, "two"]);
    // A holds a transaction and never finishes it; B waits until A is disconnected.
    a.on("error", () => {});
    await a.query("BEGIN");
    await a.query("INSERT INTO kept VALUES (3, 'never')");
    const b = new pg.Client(first.url);
    await b.connect();
    // The idle timeout is driven, not waited: with the server's timers faked, B stays queued
    // until A's second of idleness is made to pass, and only then gets its answer.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let answered = false;
      const counted = b.query("SELECT count(*)::int AS n FROM kept").then((r) => ((answered = true), r));
      await until("B to queue behind A's transaction", () => first.stats().waiting === 1);
      await vi.advanceTimersByTimeAsync(999);
      expect([answered, first.stats().waiting]).toEqual([false, 1]);
      // The report a stuck test prints names the holder, between statements.
      expect(first.stats().owner).toMatchObject({ id: expect.any(Number), executingMs: null });
      await vi.advanceTimersByTimeAsync(1);
      const { rows } = await counted;
      expect(rows[0]?.n).toBe(2);
    } finally {
      vi.useRealTimers();
    }
    await expect(a.query("SELECT 1")).rejects.toThrow();
    await b.end();
    await first.close();

    const t1 = Date.now();
    const second = await startPgliteServer({ dataDir });
    console.log(`PGlite reopened ${dataDir} in ${Date.now() - t1} ms`);
    const c = new pg.Client(second.url);
    await c.connect();
    expect((await c.query("SELECT id, v FROM kept ORDER BY id")).rows).toEqual([
      { id: 1, v: "one" },
      { id: 2, v: "two" },
    ]);
    await c.end();
    await second.close();
  });
});

describe("pglite-server (new databases)", () => {
  it("start from the cached empty cluster, never from another database's data", async () => {
    const first = await startPgliteServer();
    const a = new pg.Client(first.url);
    await a.connect();
    await a.query("CREATE TABLE only_in_first (id int)");
    await a.end();
    await first.close();
    expect(initdbTemplate()).toBeInstanceOf(Blob);

    const dataDir = mkdtempSync(join(tmpdir(), "sparki-pglite-new-"));
    try {
      const second = await startPgliteServer({ dataDir });
      const b = new pg.Client(second.url);
      await b.connect();
      expect((await b.query("SELECT to_regclass('only_in_first') AS t")).rows).toEqual([{ t: null }]);
      expect((await b.query("SELECT current_database() AS db")).rows).toEqual([{ db: "postgres" }]);
      await b.end();
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("pglite-server while PGlite loads", () => {
  it("accepts clients at once and serves what they sent, in order, once PGlite is ready", async () => {
    const server = await openPgliteServer();
    let loaded = false;
    void server.ready.then(() => (loaded = true));
    const client = new pg.Client(server.url);
    try {
      // Sent before the database exists: the startup, a table, rows, and a read of them.
      const sent = [
        client.connect(),
        client.query("CREATE TABLE early (i int)"),
        client.query("INSERT INTO early VALUES (1), (2)"),
        client.query("SELECT sum(i)::int AS total FROM early"),
      ];
      expect(loaded).toBe(false);
      const [, , , read] = await Promise.all(sent);
      expect(loaded).toBe(true);
      expect((read as pg.QueryResult).rows).toEqual([{ total: 3 }]);
    } finally {
      await client.end();
      await server.close();
    }
  });

  it("closes while still loading without leaving PGlite open", async () => {
    const server = await openPgliteServer();
    await server.close();
    await server.ready;
    const refused = await new pg.Client(server.url).connect().catch((err: Error) => err);
    expect(refused).toBeInstanceOf(Error);
  });
});
