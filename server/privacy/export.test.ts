/**
 * The streamed export across page boundaries: a page of one row gives the same document as the
 * production page, rows written between pages never make one that existed throughout appear twice
 * or not at all, and a failure part way ends the stream with an error, never with a document that
 * parses but lacks rows.
 */
import { env } from "cloudflare:test";
import type { SQL } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { AccountExport } from "../../core/contracts/export.js";
import { call, createProject, createWorkspace, login, signup } from "../../workers/testing/api.js";
import { connect, type Db } from "../db/client.js";
import { auditLogs } from "../db/schema.js";
import { openExport } from "./export.js";

const open = () => connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY);

async function read(stream: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!stream) throw new Error("no export");
  return new Response(stream).text();
}

/** The export as a request opens it: the account read through one connection, the lists through the stream's own. */
async function exportOf(userId: string, now: Date, options?: Parameters<typeof openExport>[4]): Promise<ReadableStream<Uint8Array> | null> {
  const { db, close } = await open();
  try {
    return await openExport(db, open, userId, now, options);
  } finally {
    await close();
  }
}

describe("the streamed export", () => {
  it("is the same document whatever the page size, every list complete", async () => {
    const me = await signup("stream-pages");
    const { id: workspaceId } = await createWorkspace(me, "Pages");
    const project = await createProject(me, workspaceId);
    await createWorkspace(me, "Pages two");
    for (const name of ["FIRST", "SECOND"]) {
      const put = await call("PUT", `/v1/projects/${project.id}/secrets/${name}`, { token: me.accessToken, body: { value: `value-of-${name}` } });
      expect(put.status, put.text).toBe(201);
    }
    for (const name of ["one", "two", "three"]) {
      expect((await call("POST", "/v1/tokens", { token: me.accessToken, body: { name } })).status).toBe(201);
    }
    await login(me.email, me.password);
    await login(me.email, me.password);
    const now = new Date();

    const onePerPage = await read(await exportOf(me.id, now, { pageSize: 1 }));
    const whole = await read(await exportOf(me.id, now));
    expect(onePerPage).toBe(whole);
    const data = AccountExport.parse(JSON.parse(onePerPage));
    expect(data.workspaces.map((w) => w.name)).toEqual(["Pages", "Pages two"]);
    expect(data.apiTokens.map((t) => t.name)).toEqual(["three", "two", "one"]);
    expect(data.sessions).toHaveLength(3);
    expect(data.auditEvents.length).toBeGreaterThan(5);
    expect(data.authored.length).toBeGreaterThan(1);
  });

  it("lists every row that exists throughout once, whatever is written between its pages", async () => {
    const me = await signup("stream-writes");
    const { db, close } = await open();
    const base = Date.now() - 100_000;
    // Events a second apart, newest first in the export: existing-1 (100 s ago) to existing-5.
    const events = (ns: [string, number][]) =>
      db.insert(auditLogs).values(
        ns.map(([n, seconds]) => ({
          eventType: "data",
          action: "test.between",
          result: "success",
          userId: me.id,
          details: { n },
          createdAt: new Date(base - seconds * 1000),
        })),
      );
    try {
      await events([1, 2, 3, 4, 5].map((i) => [`existing-${i}`, i - 1]));
      const stream = await exportOf(me.id, new Date(), { pageSize: 1 });
      if (!stream) throw new Error("no export");
      const reader = stream.getReader();
      const decoder = new TextDecoder();
      let text = "";
      while (!text.includes("existing-2")) {
        const { done, value } = await reader.read();
        if (done) throw new Error("the export ended before existing-2");
        text += decoder.decode(value, { stream: true });
      }
      // Written between pages: one among the rows already listed, one among those still to come.
      await events([
        ["added-behind", 0.5],
        ["added-ahead", 2.5],
      ]);
      for (let next = await reader.read(); !next.done; next = await reader.read()) text += decoder.decode(next.value, { stream: true });
      const listed = AccountExport.parse(JSON.parse(text)).auditEvents.flatMap((e) => (e.action === "test.between" ? [e.details.n] : []));
      expect(listed).toEqual(["existing-1", "existing-2", "existing-3", "added-ahead", "existing-4", "existing-5"]);
    } finally {
      await close();
    }
  });

  it("ends with an error, not a shorter document, when a read fails part way", async () => {
    const me = await signup("stream-cut");
    await login(me.email, me.password);
    const real = await open();
    // The connection fails at its tenth statement, a few lists in.
    let statements = 0;
    const db: Db = Object.create(real.db, {
      execute: { value: (query: SQL) => (++statements >= 10 ? Promise.reject(new Error("connection lost")) : real.db.execute(query)) },
    });
    const errors: unknown[] = [];
    const stream = await openExport(db, async () => ({ db, close: real.close }), me.id, new Date(), { pageSize: 1, onError: (err) => errors.push(err) });
    await expect(read(stream)).rejects.toThrow("connection lost");
    expect(errors).toHaveLength(1);
    expect(statements).toBe(10);
  });

  it("is null for an account that does not exist", async () => {
    expect(await exportOf(crypto.randomUUID(), new Date())).toBeNull();
  });
});
