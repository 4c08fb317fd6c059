/**
 * GET /v1/me/export holds the caller's data and nobody else's, and deleting an account scrubs the
 * person's data from the audit events about them while keeping the events.
 */
import { env } from "cloudflare:test";
import { eq, inArray, or, type SQL } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { AccountExport } from "../../core/contracts/export.js";
import { connect } from "../../server/db/client.js";
import { auditLogs } from "../../server/db/schema.js";
import { addMember, call, createProject, createWorkspace, login, signup, testIp } from "../testing/api.js";

async function auditRows(where: SQL | undefined) {
  const { db, close } = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY);
  try {
    return await db.select().from(auditLogs).where(where);
  } finally {
    await close();
  }
}

describe("account export", () => {
  it("holds the caller's account, workspaces, tokens, sessions and events, and nothing of anyone else's", async () => {
    const me = await signup("export-me");
    const other = await signup("export-other");
    const { id: workspaceId } = await createWorkspace(me, "Mine");
    const { id: theirs } = await createWorkspace(other, "Theirs");
    await createProject(other, theirs);
    // I invite them: the event is mine, the invitee's email and id in it are theirs.
    await addMember(me, workspaceId, other, "developer");
    const mine = await createProject(me, workspaceId);
    const secret = await call("PUT", `/v1/projects/${mine.id}/secrets/API_KEY`, { token: me.accessToken, body: { value: "s3cr3t-value-for-export" } });
    expect(secret.status, secret.text).toBe(201);
    expect((await call("PUT", `/v1/workspaces/${workspaceId}/retention`, { token: me.accessToken, body: { logs: 10 } })).status).toBe(200);
    const token = await call("POST", "/v1/tokens", { token: me.accessToken, body: { name: "laptop" } });
    expect(token.status, token.text).toBe(201);
    await call("POST", "/v1/tokens", { token: other.accessToken, body: { name: "their-secret-token-name" } });
    // A failed login to my account from elsewhere is an event about me.
    await call("POST", "/v1/auth/login", { body: { email: me.email, password: "not my password at all" }, headers: { "cf-connecting-ip": testIp() } });

    const res = await call("GET", "/v1/me/export", { token: me.accessToken });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get("content-disposition")).toContain("attachment");
    const data = AccountExport.parse(res.body);
    expect(data.user).toMatchObject({ id: me.id, email: me.email, name: "export-me" });
    expect(data.workspaces.map((w) => [w.name, w.role, w.owner])).toEqual([["Mine", "owner", true]]);
    expect(data.apiTokens.map((t) => t.name)).toEqual(["laptop"]);
    expect(data.sessions.length).toBeGreaterThan(0);
    const actions = data.auditEvents.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["auth.signup", "auth.login", "workspace.create", "member.add", "token.create"]));
    expect(data.auditEvents.find((e) => e.action === "auth.login" && e.result === "failure")).toBeDefined();
    expect(data.authored.map((a) => [a.kind, a.name])).toEqual(
      expect.arrayContaining([
        ["secret", "API_KEY"],
        ["retention", "logs"],
      ]),
    );
    const invite = data.auditEvents.find((e) => e.action === "member.add");
    expect(invite).toMatchObject({ byYou: true, resourceId: null });

    // Nothing about the other account, and no secret or hash of mine.
    expect(res.text).not.toContain(other.id);
    expect(res.text).not.toContain(other.email);
    expect(res.text).not.toContain(theirs);
    expect(res.text).not.toContain("their-secret-token-name");
    expect(res.text).not.toContain(token.body.token);
    expect(res.text).not.toContain("s3cr3t-value-for-export");
    expect(res.text).not.toMatch(/hash/i);
    expect(res.text).not.toContain(me.refreshToken);

    // Their export, likewise, is theirs: my workspace at their role, none of my tokens.
    const theirExport = AccountExport.parse((await call("GET", "/v1/me/export", { token: other.accessToken })).body);
    expect(theirExport.user.id).toBe(other.id);
    expect(theirExport.workspaces.map((w) => [w.name, w.role]).sort()).toEqual([
      ["Mine", "developer"],
      ["Theirs", "owner"],
    ]);
    expect(JSON.stringify(theirExport)).not.toContain("laptop");
    // The invite was done to them: in their export without my IP.
    expect(theirExport.auditEvents.find((e) => e.action === "member.add")).toMatchObject({ byYou: false, ip: null, resourceId: other.id });
  });
});

describe("account deletion", () => {
  it("keeps the audit events about the account but removes its email, IP and names from them", async () => {
    const admin = await signup("scrub-admin");
    const leaver = await signup("scrub-leaver");
    const { id: workspaceId } = await createWorkspace(admin, "Scrub");
    await addMember(admin, workspaceId, leaver, "viewer");
    await login(leaver.email, leaver.password);
    await call("POST", "/v1/auth/login", { body: { email: leaver.email, password: "wrong password here" }, headers: { "cf-connecting-ip": testIp() } });
    const before = await auditRows(or(eq(auditLogs.userId, leaver.id), eq(auditLogs.resourceId, leaver.id)));
    expect(before.some((r) => r.ip !== null)).toBe(true);
    expect(JSON.stringify(before.map((r) => r.details))).toContain(leaver.email);
    const adminBefore = (await auditRows(eq(auditLogs.userId, admin.id))).filter((r) => r.resourceId !== leaver.id);
    expect(adminBefore.length).toBeGreaterThan(0);

    const del = await call("DELETE", "/v1/me", { token: leaver.accessToken, body: { password: leaver.password }, headers: { "cf-connecting-ip": testIp() } });
    expect(del.status, del.text).toBe(204);

    const after = await auditRows(
      inArray(
        auditLogs.id,
        before.map((r) => r.id),
      ),
    );
    expect(after.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
    for (const row of after) {
      // Their own events are unlinked from the deleted account; the admin's invite stays the admin's.
      expect(row.userId, row.action).toBe(before.find((r) => r.id === row.id)?.userId === leaver.id ? null : admin.id);
      expect(JSON.stringify(row.details), row.action).not.toContain(leaver.email);
      expect(row.details, row.action).toMatchObject({ personalDataRemoved: true });
    }
    // Their own actions lose their IP; the admin's invite keeps the admin's.
    const inviteBefore = before.find((r) => r.action === "member.add");
    for (const row of after) expect(row.ip, row.action).toBe(row.id === inviteBefore?.id ? inviteBefore.ip : null);
    const deletion = await auditRows(eq(auditLogs.resourceId, leaver.id));
    const event = deletion.find((r) => r.action === "user.delete");
    expect(event).toMatchObject({ ip: null, result: "success" });

    // The workspace's log still shows the invite, to its admin, without the leaver's email.
    const log = await call("GET", `/v1/workspaces/${workspaceId}/audit-logs?action=member.add`, { token: admin.accessToken });
    expect(log.body.items).toHaveLength(1);
    expect(log.body.items[0].details).toEqual(expect.objectContaining({ role: "viewer", personalDataRemoved: true }));
    expect(log.text).not.toContain(leaver.email);
    // The admin's other events (not about the leaver) were not touched.
    const adminAfter = await auditRows(
      inArray(
        auditLogs.id,
        adminBefore.map((r) => r.id),
      ),
    );
    for (const row of adminAfter) expect(row.details).not.toHaveProperty("personalDataRemoved");
  });
});
