/**
 * The streamed export across page boundaries: a page of one row gives the same document as the
 * production page, and a failure part way ends the stream with an error, never with a document
 * that parses but lacks rows.
 */
import { env } from "cloudflare:test";
import type { SQL } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { AccountExport } from "../../core/contracts/export.js";
import { call, createProject, createWorkspace, login, signup } from "../../workers/testing/api.js";
import { connect, type Db } from "../db/client.js";
import { openExport } from "./export.js";

const open = () => connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY);

async function read(stream: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!stream) throw new Error("no export");
  return new Response(stream).text();
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

    const onePerPage = await read(await openExport(await open(), me.id, now, { pageSize: 1 }));
    const whole = await read(await openExport(await open(), me.id, now));
    expect(onePerPage).toBe(whole);
    const data = AccountExport.parse(JSON.parse(onePerPage));
    expect(data.workspaces.map((w) => w.name)).toEqual(["Pages", "Pages two"]);
    expect(data.apiTokens.map((t) => t.name)).toEqual(["three", "two", "one"]);
    expect(data.sessions).toHaveLength(3);
    expect(data.auditEvents.length).toBeGreaterThan(5);
    expect(data.authored.length).toBeGreaterThan(1);
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
    const stream = await openExport({ db, close: real.close }, me.id, new Date(), { pageSize: 1, onError: (err) => errors.push(err) });
    await expect(read(stream)).rejects.toThrow("connection lost");
    expect(errors).toHaveLength(1);
    expect(statements).toBe(10);
  });

  it("is null for an account that does not exist", async () => {
    expect(await openExport(await open(), crypto.randomUUID(), new Date())).toBeNull();
  });
});
