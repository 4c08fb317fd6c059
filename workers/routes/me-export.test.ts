/**
 * GET /v1/me/export holds the caller's data and nobody else's, and deleting an account scrubs the
 * person's data from the audit events about them while keeping the events.
 */
import { env, SELF } from "cloudflare:test";
import { and, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { AccountExport } from "../../core/contracts/export.js";
import { connect, type Db } from "../../server/db/client.js";
import { auditLogs, githubInstallations, userIdentities, users } from "../../server/db/schema.js";
import { addMember, call, createProject, createWorkspace, expectProblem, login, signup, testIp } from "../testing/api.js";

async function withDb<T>(use: (db: Db) => Promise<T>): Promise<T> {
  const { db, close } = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY);
  try {
    return await use(db);
  } finally {
    await close();
  }
}

const auditRows = (where: SQL | undefined) => withDb((db) => db.select().from(auditLogs).where(where));
const providerId = () => `${Math.floor(Math.random() * 1e12)}`;

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

describe("account export, the rest of what Sparki holds", () => {
  it("lists the GitHub installations the caller linked, and not another user's", async () => {
    const me = await signup("export-gh");
    const other = await signup("export-gh-other");
    const { id: workspaceId } = await createWorkspace(me, "GitHub mine");
    const { id: theirWorkspace } = await createWorkspace(other, "GitHub theirs");
    const mine = Math.floor(Math.random() * 1e12);
    const theirs = mine + 1;
    await withDb((db) =>
      db.insert(githubInstallations).values([
        { id: mine, accountLogin: "my-gh-org", accountType: "Organization", workspaceId, linkedBy: me.id, linkedAt: new Date() },
        { id: theirs, accountLogin: "their-gh-org", accountType: "User", workspaceId: theirWorkspace, linkedBy: other.id, linkedAt: new Date() },
      ]),
    );

    const res = await call("GET", "/v1/me/export", { token: me.accessToken });
    expect(res.status, res.text).toBe(200);
    const data = AccountExport.parse(res.body);
    expect(data.githubInstallations).toEqual([
      expect.objectContaining({ id: mine, accountLogin: "my-gh-org", accountType: "Organization", workspaceId, linkedAt: expect.any(String), deletedAt: null }),
    ]);
    expect(res.text).not.toContain("their-gh-org");
    expect(res.text).not.toContain(String(theirs));
  });

  it("holds the events that name the caller only by a linked login or by their id in the details", async () => {
    const me = await signup("export-named");
    const other = await signup("export-named-other");
    const login = `Named-${crypto.randomUUID().slice(0, 8)}`;
    await withDb(async (db) => {
      await db.insert(userIdentities).values({ userId: me.id, provider: "github", providerUserId: providerId(), login });
      await db.insert(auditLogs).values([
        // What workers/routes/oauth.ts writes for a refused sign-in: nobody signed in, only the login.
        {
          eventType: "auth",
          action: "auth.oauth_login",
          result: "failure",
          userId: null,
          details: { provider: "github", reason: "unverified_email", login: login.toLowerCase() },
        },
        // The same login on the other host is somebody else.
        {
          eventType: "auth",
          action: "auth.oauth_login",
          result: "failure",
          userId: null,
          details: { provider: "gitlab", reason: "export-named-gitlab", login },
        },
        {
          eventType: "permission",
          action: "members:manage",
          result: "denied",
          userId: other.id,
          ip: "203.0.113.9",
          details: { reason: "export-named-id", resourceId: me.id },
        },
      ]);
    });
    const data = AccountExport.parse((await call("GET", "/v1/me/export", { token: me.accessToken })).body);
    expect(data.auditEvents.find((e) => e.details.reason === "unverified_email")).toMatchObject({ byYou: false, details: { login: login.toLowerCase() } });
    expect(data.auditEvents.find((e) => e.details.reason === "export-named-id")).toMatchObject({ byYou: false, ip: null });
    expect(data.auditEvents.find((e) => e.details.reason === "export-named-gitlab")).toBeUndefined();
  });

  it("holds every row of a list far longer than one page, none of another user's", async () => {
    const me = await signup("export-long");
    const other = await signup("export-long-other");
    // More than the 5,000 rows a list was once cut at, and more than one page of the stream.
    const count = 5_123;
    await withDb(async (db) => {
      for (const [user, n] of [
        [me.id, count],
        [other.id, 7],
      ] as const) {
        await db.execute(
          sql`insert into audit_logs (event_type, action, result, user_id, details, created_at)
              select 'data', 'test.bulk', 'success', ${user}::uuid, jsonb_build_object('n', g), now() - make_interval(secs => g)
              from generate_series(1, ${n}::int) g`,
        );
      }
    });
    const res = await call("GET", "/v1/me/export", { token: me.accessToken });
    expect(res.status).toBe(200);
    const data = AccountExport.parse(res.body);
    const bulk = data.auditEvents.filter((e) => e.action === "test.bulk").map((e) => e.details.n);
    expect(bulk).toHaveLength(count);
    expect(new Set(bulk).size).toBe(count);
    // Newest first, in one order across pages.
    expect(bulk.slice(0, 3)).toEqual([1, 2, 3]);
    expect(data.auditEvents.every((e) => e.byYou || e.action !== "test.bulk")).toBe(true);
    expect(res.text).not.toContain(other.id);
  });
});

describe("account export, beside other requests", () => {
  it("holds the database for no one while its reader is slow: another user's login completes, then the rest reads whole", async () => {
    const me = await signup("export-slow");
    const other = await signup("export-slow-other");
    const res = await SELF.fetch("http://sparki.test/v1/me/export", { headers: { authorization: `Bearer ${me.accessToken}` } });
    expect(res.status).toBe(200);
    if (!res.body) throw new Error("the export has no body");
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let done = false;
    try {
      // Part of the document read, the rest left waiting, as a slow client does.
      const first = await reader.read();
      done = first.done;
      let text = decoder.decode(first.value, { stream: true });
      // A login writes a session and an audit event. The local PGlite has one backend: a
      // transaction the export kept open would make it wait for the reader (30 s, the server's limit).
      const outcome = await Promise.race([
        login(other.email, other.password).then(() => "logged in"),
        new Promise((resolve) => setTimeout(resolve, 10_000, "still waiting")),
      ]);
      expect(outcome).toBe("logged in");
      while (!done) {
        const next = await reader.read();
        done = next.done;
        text += decoder.decode(next.value, { stream: true });
      }
      text += decoder.decode();
      const data = AccountExport.parse(JSON.parse(text));
      expect(data.user.id).toBe(me.id);
      expect(data.auditEvents.map((e) => e.action)).toContain("auth.login");
      expect(text).not.toContain(other.id);
    } finally {
      if (!done) await reader.cancel();
    }
  });

  it("answers 404 problem+json, and audits no export, for an account deleted after its token was issued", async () => {
    const me = await signup("export-gone");
    // Authentication reads the user from the cache, which this request fills: the token still
    // authenticates once the row is gone, as it does between a deletion and its cache expiry.
    expect((await call("GET", "/v1/me", { token: me.accessToken })).status).toBe(200);
    await withDb((db) => db.delete(users).where(eq(users.id, me.id)));

    const res = await call("GET", "/v1/me/export", { token: me.accessToken });
    expect([401, 404], res.text).toContain(res.status);
    expectProblem(res, res.status);
    expect(await auditRows(and(eq(auditLogs.action, "user.export"), eq(auditLogs.resourceId, me.id)))).toEqual([]);
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

  it("removes the person from events that name them only by a linked login or by their id, and leaves others' alone", async () => {
    const leaver = await signup("scrub-named");
    const other = await signup("scrub-named-other");
    const login = `Scrub-${crypto.randomUUID().slice(0, 8)}`;
    const bystander = `scrub-bystander-${crypto.randomUUID().slice(0, 8)}`;
    const { named, untouched } = await withDb(async (db) => {
      await db.insert(userIdentities).values([
        { userId: leaver.id, provider: "github", providerUserId: providerId(), login },
        // The same login on GitLab is another person, whose events must stay as they are.
        { userId: other.id, provider: "gitlab", providerUserId: providerId(), login },
      ]);
      const named = await db
        .insert(auditLogs)
        .values([
          // A refused sign-in with their GitHub account (workers/routes/oauth.ts): only the login names them.
          {
            eventType: "auth",
            action: "auth.oauth_login",
            result: "failure",
            userId: null,
            ip: "203.0.113.21",
            details: { provider: "github", reason: "unverified_email", login: login.toLowerCase() },
          },
          // Someone else's attempt to link the leaver's GitHub account: the holder's login.
          {
            eventType: "auth",
            action: "auth.oauth_login",
            result: "failure",
            userId: null,
            ip: "203.0.113.22",
            details: { provider: "github", reason: "taken", login },
          },
          // Another member's denied request about the leaver: their id in the details.
          {
            eventType: "permission",
            action: "members:manage",
            result: "denied",
            userId: other.id,
            ip: "203.0.113.23",
            details: { reason: "role_lacks_permission", resourceType: "user", resourceId: leaver.id },
          },
          // A GitHub App installation on the leaver's personal account, linked by the other user.
          {
            eventType: "data",
            action: "github_installation.link",
            result: "success",
            userId: other.id,
            ip: "203.0.113.24",
            details: { installationId: 7, account: login },
          },
        ])
        .returning();
      const untouched = await db
        .insert(auditLogs)
        .values([
          {
            eventType: "auth",
            action: "auth.oauth_login",
            result: "failure",
            userId: null,
            ip: "203.0.113.25",
            details: { provider: "gitlab", reason: "unverified_email", login },
          },
          { eventType: "auth", action: "auth.login", result: "success", userId: other.id, ip: "203.0.113.26", details: { provider: "gitlab", login } },
          { eventType: "data", action: "project.create", result: "success", userId: other.id, ip: "203.0.113.27", details: { name: bystander, stage: login } },
        ])
        .returning();
      return { named, untouched };
    });

    const del = await call("DELETE", "/v1/me", { token: leaver.accessToken, body: { password: leaver.password } });
    expect(del.status, del.text).toBe(204);

    const after = new Map(
      (
        await auditRows(
          inArray(
            auditLogs.id,
            [...named, ...untouched].map((r) => r.id),
          ),
        )
      ).map((r) => [r.id, r]),
    );
    for (const before of named) {
      const row = after.get(before.id);
      // The event stays: its type, action, result, time and actor.
      expect(row, before.action).toMatchObject({
        eventType: before.eventType,
        action: before.action,
        result: before.result,
        createdAt: before.createdAt,
        userId: before.userId,
      });
      const text = JSON.stringify(row?.details);
      expect(text.toLowerCase(), before.action).not.toContain(login.toLowerCase());
      expect(text, before.action).not.toContain(leaver.id);
      expect(row?.details, before.action).toMatchObject({ personalDataRemoved: true });
    }
    const [refused, taken, denied, installed] = named.map((r) => after.get(r.id));
    expect(refused?.details).toMatchObject({ provider: "github", reason: "unverified_email" });
    // A sign-in attempt nobody was signed in for came, most likely, from the person: its IP goes.
    expect(refused?.ip).toBeNull();
    expect(taken?.details).toMatchObject({ provider: "github", reason: "taken" });
    // The other member's own request keeps its IP and everything that is not the leaver.
    expect(denied).toMatchObject({ ip: "203.0.113.23", details: { reason: "role_lacks_permission", resourceType: "user" } });
    expect(installed).toMatchObject({ ip: "203.0.113.24", details: { installationId: 7 } });
    for (const before of untouched) expect(after.get(before.id), before.action).toEqual(before);
  });
});
