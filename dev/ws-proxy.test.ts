import { createServer, type Server, type Socket } from "node:net";
import { neonConfig, Pool } from "@neondatabase/serverless";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { message, startupMessage } from "./pg-wire.ts";
import { startPgliteServer, type PgliteServer } from "./pglite-server.ts";
import { parseLoopbackTarget, startWsProxy, type WsProxy } from "./ws-proxy.ts";
import { until } from "../test/until.ts";

const LOCAL_PG = "postgres://postgres@127.0.0.1:5432/test";
// Unique per process: two suites on one machine (the loaded-machine runs) share its PostgreSQL.
const APP = `sparki-ws-proxy-test-${process.pid}`;

let proxy: WsProxy;
let pglite: PgliteServer;

beforeAll(async () => {
  [proxy, pglite] = await Promise.all([startWsProxy(), startPgliteServer()]);
  // The development-only settings from LOCAL-STACK.md; production keeps Neon's defaults.
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${proxy.port}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
});
afterAll(async () => {
  await proxy?.close();
  await pglite?.close();
});

/** A Pool of several clients: parallel queries, a committed and a rolled-back transaction. */
async function exercise(url: string, table: string): Promise<void> {
  const pool = new Pool({ connectionString: `${url}?application_name=${APP}`, max: 4 });
  try {
    await exerciseWith(pool, table);
  } finally {
    // Ended on failure too, so that the next test does not count this one's connections.
    await pool.end();
  }
  await until("the proxy to drop every connection after pool.end()", () => proxy.stats().connections === 0);
}

async function exerciseWith(pool: Pool, table: string): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
  const echoes = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.query("SELECT $1::int * 3 AS x, $2::text AS s", [i, `s${i}`])));
  echoes.forEach((r, i) => {
    expect(r.rows[0]).toEqual({ x: i * 3, s: `s${i}` });
  });

  const tx = await pool.connect();
  await tx.query("BEGIN");
  await tx.query(`INSERT INTO ${table} VALUES ($1, $2)`, [1, "kept"]);
  expect((await tx.query(`SELECT v FROM ${table} WHERE id = $1`, [1])).rows).toEqual([{ v: "kept" }]);
  await tx.query("COMMIT");
  await tx.query("BEGIN");
  await tx.query(`INSERT INTO ${table} VALUES ($1, $2)`, [2, "dropped"]);
  await tx.query("ROLLBACK");
  tx.release();
  expect((await pool.query(`SELECT id, v FROM ${table} ORDER BY id`)).rows).toEqual([{ id: 1, v: "kept" }]);
  await pool.query(`DROP TABLE ${table}`);
}

describe("ws-proxy with the Neon driver", () => {
  it("reaches the PGlite server, and pool.end() leaves no connection open", async () => {
    await exercise(pglite.url, "proxy_pglite");
    await until("PGlite to see every client gone", () => pglite.stats().connections === 0);
  });

  it.skipIf(process.env.SPARKI_NO_LOCAL_PG === "1")("reaches the local PostgreSQL, and pool.end() leaves no backend behind", async () => {
    await exercise(LOCAL_PG, `sparki_proxy_test_${process.pid}`);
    const admin = new pg.Client(LOCAL_PG);
    await admin.connect();
    await until("Postgres backends of the pool to exit", async () => {
      const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [APP]);
      return rows[0]?.n === 0;
    });
    await admin.end();
  });
});

describe("ws-proxy itself", () => {
  const closeOf = (url: string): Promise<{ code: number; reason: string }> =>
    new Promise((ok, fail) => {
      const ws = new WebSocket(url);
      ws.on("error", fail);
      ws.on("close", (code, why) => ok({ code, reason: why.toString() }));
    });

  it("refuses targets that are not loopback, with a clear reason", async () => {
    const refused = await closeOf(`${proxy.url}/v2?address=10.1.2.3:5432`);
    expect(refused.code).toBe(1008);
    expect(refused.reason).toContain("only loopback");
    expect((await closeOf(`${proxy.url}/v2`)).reason).toContain("missing ?address");
    // An unreachable server is refused during the handshake, with the reason as the body.
    const unreachable = await new Promise<{ status: number; body: string }>((ok, fail) => {
      const ws = new WebSocket(`${proxy.url}/v2?address=127.0.0.1:1`);
      ws.on("open", () => fail(new Error("the handshake should have been refused")));
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => ok({ status: res.statusCode ?? 0, body }));
      });
      ws.on("error", () => undefined);
    });
    expect(unreachable).toEqual({ status: 502, body: "sparki ws-proxy: 127.0.0.1:1: ECONNREFUSED" });
    expect(parseLoopbackTarget("::1:5432")).toEqual({ host: "::1", port: 5432 });
    expect(parseLoopbackTarget("[::1]:5432")).toEqual({ host: "::1", port: 5432 });
    expect(parseLoopbackTarget("localhost:1")).toEqual({ host: "localhost", port: 1 });
    expect(parseLoopbackTarget("127.9.9.9:80")).toEqual({ host: "127.9.9.9", port: 80 });
    expect(typeof parseLoopbackTarget("example.com:5432")).toBe("string");
    expect(typeof parseLoopbackTarget("127.0.0.1:99999")).toBe("string");
    expect(proxy.stats().connections).toBe(0);
  });

  it("hangs up both sides on Terminate even when the server would not", { timeout: 10_000 }, async () => {
    // A "server" that never closes anything, like one that ignores Terminate.
    let serverSide: Socket | undefined;
    let got = Buffer.alloc(0);
    let ended: () => void = () => {};
    const endedP = new Promise<void>((ok) => (ended = ok));
    const fake: Server = createServer((s) => {
      serverSide = s;
      s.on("data", (d: Buffer) => void (got = Buffer.concat([got, d])));
      s.on("end", () => ended());
    });
    await new Promise<void>((ok) => fake.listen(0, "127.0.0.1", ok));
    const addr = fake.address();
    const port = typeof addr === "object" && addr ? addr.port : 0;
    const ws = new WebSocket(`${proxy.url}/v2?address=127.0.0.1:${port}`);
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise<number>((ok) => ws.once("close", (code) => ok(code)));
    // Startup, then a query split over two frames with Terminate right behind it.
    const q = Buffer.concat([message("Q", Buffer.from("SELECT 'X'\0")), message("X")]);
    ws.send(startupMessage({ user: "postgres" }));
    ws.send(q.subarray(0, 3));
    ws.send(q.subarray(3));
    expect(await closed).toBe(1000);
    await endedP;
    expect(got.subarray(-5)).toEqual(message("X"));
    serverSide?.destroy();
    await new Promise((r) => fake.close(r));
    await until("the proxy to forget the connection", () => proxy.stats().connections === 0);
  });
});
