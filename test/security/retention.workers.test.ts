/**
 * Attacks on retention settings and the account export:
 * - another workspace's retention can be neither read nor changed (the same 404 as a workspace
 *   that does not exist), and a developer cannot shorten it to wipe the workspace's logs;
 * - hostile values are a 400 problem, never a 500 and never stored (0 or negative days would
 *   delete everything at the next sweep);
 * - the export has no parameter to point at another user: whatever the query says, it is the
 *   caller's; a read-only API token cannot take it; no session, no export;
 * - an event of someone else's that names the caller is in the caller's export, but not the other
 *   person's email, login or IP that sit beside it.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { AccountExport } from "../../core/contracts/export.js";
import { connect } from "../../server/db/client.js";
import { auditLogs, userIdentities } from "../../server/db/schema.js";
import { addMember, call, createWorkspace, expectProblem, signup, type TestUser } from "../../workers/testing/api.js";

let victim: TestUser;
let attacker: TestUser;
let victimWs: string;
beforeAll(async () => {
  [victim, attacker] = await Promise.all([signup("ret-victim"), signup("ret-attacker")]);
  victimWs = (await createWorkspace(victim, "Victim")).id;
  await createWorkspace(attacker, "Attacker");
});

const path = (ws: string) => `/v1/workspaces/${ws}/retention`;
const victimDays = async () => (await call("GET", path(victimWs), { token: victim.accessToken })).body.items.map((i: { days: number }) => i.days);

describe("retention settings across tenants", () => {
  it("another workspace's are a 404, as for one that does not exist, and stay unchanged", async () => {
    expectProblem(await call("GET", path(victimWs), { token: attacker.accessToken }), 404, "not_found");
    expectProblem(await call("PUT", path(victimWs), { token: attacker.accessToken, body: { logs: 1, artifacts: 1 } }), 404, "not_found");
    expectProblem(await call("PUT", path(crypto.randomUUID()), { token: attacker.accessToken, body: { logs: 1 } }), 404, "not_found");
    expect(await victimDays()).toEqual([90, 30, 7, 30]);
  });

  it("a developer of the workspace cannot shorten them, nor can a caller without a session", async () => {
    const developer = await signup("ret-dev");
    await addMember(victim, victimWs, developer, "developer");
    expectProblem(await call("PUT", path(victimWs), { token: developer.accessToken, body: { logs: 1 } }), 403, "forbidden");
    expectProblem(await call("PUT", path(victimWs), { body: { logs: 1 } }), 401);
    expectProblem(await call("GET", path(victimWs)), 401);
    expect(await victimDays()).toEqual([90, 30, 7, 30]);
  });

  it("hostile values are a 400 and nothing is stored", async () => {
    const bodies: unknown[] = [
      {},
      { logs: 0 },
      { logs: -1 },
      { artifacts: 3651 },
      { sites: 1.5 },
      { caches: "7" },
      { logs: Number.MAX_SAFE_INTEGER + 2 },
      { audit: 1 },
      [{ logs: 1 }],
      null,
      "logs=1",
    ];
    for (const body of bodies) {
      const res = await call("PUT", path(victimWs), { token: victim.accessToken, body });
      expectProblem(res, 400, "validation");
    }
    for (const rawBody of ['{"logs": 1', '{"logs": 1e309}', '{"logs": 1, "__proto__": {"days": 0}}', '{"logs": 1, "logs": 0}']) {
      expectProblem(await call("PUT", path(victimWs), { token: victim.accessToken, rawBody }), 400);
    }
    expectProblem(await call("GET", path("not-a-uuid"), { token: victim.accessToken }), 400, "validation");
    expect(await victimDays()).toEqual([90, 30, 7, 30]);
  });
});

describe("the account export", () => {
  it("cannot be pointed at another user: every form of asking gives the caller's own", async () => {
    for (const query of [`?userId=${victim.id}`, `?id=${victim.id}`, `?user=${victim.email}`]) {
      const res = await call("GET", `/v1/me/export${query}`, { token: attacker.accessToken });
      expect(res.status, res.text).toBe(200);
      expect(res.body.user.id).toBe(attacker.id);
      expect(res.text).not.toContain(victim.id);
      expect(res.text).not.toContain(victim.email);
    }
    expect((await call("GET", `/v1/users/${victim.id}/export`, { token: attacker.accessToken })).status).toBe(404);
  });

  it("needs a session or an admin-scoped token", async () => {
    expectProblem(await call("GET", "/v1/me/export"), 401);
    const read = await call("POST", "/v1/tokens", { token: attacker.accessToken, body: { name: "ro", scope: "read" } });
    expect(read.status, read.text).toBe(201);
    expectProblem(await call("GET", "/v1/me/export", { token: read.body.token }), 403, "forbidden");
    const admin = await call("POST", "/v1/tokens", { token: attacker.accessToken, body: { name: "full", scope: "admin" } });
    expect((await call("GET", "/v1/me/export", { token: admin.body.token })).status).toBe(200);
  });
});

describe("events naming the caller", () => {
  it("carry none of the other person's data into the caller's export", async () => {
    const victimLogin = `victim-${crypto.randomUUID().slice(0, 8)}`;
    const { db, close } = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY);
    try {
      await db
        .insert(userIdentities)
        .values({ userId: victim.id, provider: "github", providerUserId: `${Math.floor(Math.random() * 1e12)}`, login: victimLogin });
      // The victim's own event that also names the attacker by id (a denial about them, say).
      await db.insert(auditLogs).values({
        eventType: "permission",
        action: "members:manage",
        result: "denied",
        userId: victim.id,
        ip: "198.51.100.77",
        details: { reason: "naming-attack", resourceId: attacker.id, email: victim.email, provider: "github", login: victimLogin },
      });
    } finally {
      await close();
    }
    const res = await call("GET", "/v1/me/export", { token: attacker.accessToken });
    expect(res.status, res.text).toBe(200);
    const event = AccountExport.parse(res.body).auditEvents.find((e) => e.details.reason === "naming-attack");
    expect(event).toMatchObject({ byYou: false, ip: null, details: { resourceId: attacker.id } });
    expect(res.text).not.toContain(victim.email);
    expect(res.text).not.toContain(victimLogin);
    expect(res.text).not.toContain(victim.id);
    expect(res.text).not.toContain("198.51.100.77");
  });
});
