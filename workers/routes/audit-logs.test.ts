import { describe, expect, it } from "vitest";
import { addMember, call, createProject, createWorkspace, expectProblem, signup } from "../testing/api.js";

describe("audit log", () => {
  it("records data changes newest first, with who, what, result and request id", async () => {
    const owner = await signup();
    const mate = await signup("mate");
    const ws = await createWorkspace(owner, "Audited");
    const project = await createProject(owner, ws.id, "audited-app");
    await addMember(owner, ws.id, mate, "admin");
    await call("PATCH", `/v1/projects/${project.id}`, {
      token: owner.accessToken,
      body: { defaultBranch: "trunk" },
      headers: { "x-request-id": "audit-req-1" },
    });

    const res = await call("GET", `/v1/workspaces/${ws.id}/audit-logs`, { token: mate.accessToken });
    expect(res.status).toBe(200);
    const actions = res.body.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(["project.update", "member.add", "project.create", "workspace.create"]);
    const update = res.body.items[0];
    expect(update).toMatchObject({
      userId: owner.id,
      workspaceId: ws.id,
      eventType: "data",
      resourceType: "project",
      resourceId: project.id,
      result: "success",
      details: { requestId: "audit-req-1", defaultBranch: "trunk" },
    });
  });

  it("pages through entries and filters by action", async () => {
    const owner = await signup();
    const ws = await createWorkspace(owner);
    for (let i = 0; i < 4; i++) await createProject(owner, ws.id, `a${i}`);
    const first = await call("GET", `/v1/workspaces/${ws.id}/audit-logs?limit=2&action=project.create`, { token: owner.accessToken });
    expect(first.body.items).toHaveLength(2);
    const second = await call("GET", `/v1/workspaces/${ws.id}/audit-logs?limit=2&action=project.create&cursor=${first.body.nextCursor}`, {
      token: owner.accessToken,
    });
    expect(second.body.items).toHaveLength(2);
    expect(second.body.nextCursor).toBeNull();
    const names = [...first.body.items, ...second.body.items].map((e: { details: { name: string } }) => e.details.name);
    expect(names).toEqual(["a3", "a2", "a1", "a0"]);
  });

  it("is for owners and admins only", async () => {
    const owner = await signup();
    const dev = await signup("dev");
    const ws = await createWorkspace(owner);
    await addMember(owner, ws.id, dev, "developer");
    expectProblem(await call("GET", `/v1/workspaces/${ws.id}/audit-logs`, { token: dev.accessToken }), 403);
  });
});
