import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { builds } from "../../server/db/schema.js";
import { artifactKey, buildLogKey } from "../../server/r2-keys.js";
import { sweepRetention } from "../../server/retention/sweep.js";
import { addMember, call, createProject, createWorkspace, expectProblem, signup } from "../testing/api.js";
import { withDb } from "../testing/deploy.js";

const defaults = [
  { kind: "logs", days: 90, custom: false, updatedAt: null },
  { kind: "artifacts", days: 30, custom: false, updatedAt: null },
  { kind: "caches", days: 7, custom: false, updatedAt: null },
  { kind: "sites", days: 30, custom: false, updatedAt: null },
];

describe("workspace retention", () => {
  it("starts at the defaults; an admin changes kinds, returns one to its default, and it is audited", async () => {
    const owner = await signup("ret-owner");
    const admin = await signup("ret-admin");
    const { id } = await createWorkspace(owner);
    await addMember(owner, id, admin, "admin");
    const first = await call("GET", `/v1/workspaces/${id}/retention`, { token: admin.accessToken });
    expect(first.status, first.text).toBe(200);
    expect(first.body.items).toEqual(defaults);

    const set = await call("PUT", `/v1/workspaces/${id}/retention`, { token: admin.accessToken, body: { logs: 14, sites: 365 } });
    expect(set.status, set.text).toBe(200);
    expect(set.body.items.map((i: { kind: string; days: number; custom: boolean }) => [i.kind, i.days, i.custom])).toEqual([
      ["logs", 14, true],
      ["artifacts", 30, false],
      ["caches", 7, false],
      ["sites", 365, true],
    ]);

    const reset = await call("PUT", `/v1/workspaces/${id}/retention`, { token: owner.accessToken, body: { logs: null, artifacts: 3 } });
    expect(reset.status, reset.text).toBe(200);
    const again = await call("GET", `/v1/workspaces/${id}/retention`, { token: owner.accessToken });
    expect(again.body.items.map((i: { kind: string; days: number; custom: boolean }) => [i.kind, i.days, i.custom])).toEqual([
      ["logs", 90, false],
      ["artifacts", 3, true],
      ["caches", 7, false],
      ["sites", 365, true],
    ]);

    const log = await call("GET", `/v1/workspaces/${id}/audit-logs?action=workspace.retention`, { token: owner.accessToken });
    expect(log.status, log.text).toBe(200);
    expect(
      log.body.items.map((e: { userId: string; details: Record<string, unknown> }) => [e.userId, e.details.logs, e.details.artifacts, e.details.sites]),
    ).toEqual([
      [owner.id, null, 3, undefined],
      [admin.id, 14, undefined, 365],
    ]);
  });

  it("developers and viewers read it but cannot change it", async () => {
    const owner = await signup("ret-owner");
    const { id } = await createWorkspace(owner);
    for (const role of ["developer", "viewer"]) {
      const member = await signup(`ret-${role}`);
      await addMember(owner, id, member, role);
      expect((await call("GET", `/v1/workspaces/${id}/retention`, { token: member.accessToken })).status).toBe(200);
      expectProblem(await call("PUT", `/v1/workspaces/${id}/retention`, { token: member.accessToken, body: { logs: 1 } }), 403, "forbidden");
    }
    const after = await call("GET", `/v1/workspaces/${id}/retention`, { token: owner.accessToken });
    expect(after.body.items).toEqual(defaults);
  });
});

describe("what retention deleted", () => {
  it("answers 404 saying retention deleted it, and refuses a retry, where a kept build's log and artifact still answer", async () => {
    const owner = await signup("ret-gone");
    const { id: workspaceId } = await createWorkspace(owner);
    const project = await createProject(owner, workspaceId);
    const ended = async (daysAgo: number) => {
      const [row] = await withDb((db) =>
        db
          .insert(builds)
          .values({
            projectId: project.id,
            number: Math.floor(Math.random() * 1e9),
            status: "failed",
            trigger: "api",
            completedAt: new Date(Date.now() - daysAgo * 86_400_000),
          })
          .returning({ id: builds.id }),
      );
      const id = row?.id ?? "";
      await env.ARTIFACTS.put(buildLogKey(project.id, id), "hello\n");
      await env.ARTIFACTS.put(artifactKey(project.id, id, "out.txt"), "out");
      return id;
    };
    const old = await ended(120);
    const young = await ended(1);
    await withDb((db) => sweepRetention({ db, bucket: env.ARTIFACTS, env }, { now: new Date(), workspaceIds: [workspaceId] }));

    const log = await call("GET", `/v1/builds/${old}/logs.txt`, { token: owner.accessToken });
    expectProblem(log, 404, "not_found");
    expect(log.body.detail).toMatch(/log was deleted on \d{4}-\d{2}-\d{2} under the workspace's retention/);
    const artifact = await call("GET", `/v1/builds/${old}/artifacts/out.txt`, { token: owner.accessToken });
    expectProblem(artifact, 404, "not_found");
    expect(artifact.body.detail).toMatch(/artifacts were deleted/);

    // A retry would re-run its failed jobs without the artifacts and log of the rest.
    const retry = await call("POST", `/v1/builds/${old}/retry`, { token: owner.accessToken });
    expectProblem(retry, 409, "conflict");
    expect(retry.body.detail).toMatch(/retention; trigger a new build/);

    const kept = await call("GET", `/v1/builds/${young}/logs.txt`, { token: owner.accessToken });
    expect(kept.status, kept.text).toBe(200);
    expect(kept.text).toBe("hello\n");
    expect((await call("GET", `/v1/builds/${young}/artifacts/out.txt`, { token: owner.accessToken })).text).toBe("out");
  });
});
