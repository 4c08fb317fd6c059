import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { auditLogs } from "../../server/db/schema.js";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { builtSite, siteVersion, withDb } from "../testing/deploy.js";

let owner: TestUser;
let workspaceId: string;

const rules = (projectId: string, user: TestUser) => call("GET", `/v1/projects/${projectId}/stage-rules`, { token: user.accessToken });
const put = (projectId: string, stage: string, user: TestUser, body: unknown) =>
  call("PUT", `/v1/projects/${projectId}/stage-rules/${stage}`, { token: user.accessToken, body });
const production = { requireApproval: true, branches: ["main", "release/*"] };

beforeAll(async () => {
  owner = await signup("rules");
  workspaceId = (await createWorkspace(owner)).id;
});

describe("stage rules", () => {
  it("lists the newest pipeline's stages with the default until a rule is set; put replaces, delete restores the default; each change is audited", async () => {
    const projectId = (await createProject(owner, workspaceId)).id;
    await builtSite(projectId, siteVersion("x"), [
      { stage: "staging", platform: "sparki-static" },
      { stage: "production", platform: "sparki-static" },
    ]);
    let list = await rules(projectId, owner);
    expect(list.status, list.text).toBe(200);
    expect(list.body.defaultBranch).toBe("main");
    expect(list.body.items.map((r: any) => [r.stage, r.configured, r.branches, r.requireApproval])).toEqual([
      ["staging", false, ["main"], false],
      ["production", false, ["main"], false],
    ]);

    const created = await put(projectId, "production", owner, production);
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      stage: "production",
      requireApproval: true,
      branches: ["main", "release/*"],
      approverRoles: ["owner", "admin"],
      configured: true,
      updatedBy: owner.id,
    });
    const replaced = await put(projectId, "production", owner, { ...production, approverRoles: ["owner"] });
    expect(replaced.status, replaced.text).toBe(200);
    expect(replaced.body.approverRoles).toEqual(["owner"]);
    list = await rules(projectId, owner);
    expect(list.body.items.find((r: any) => r.stage === "production")).toMatchObject({ configured: true, approverRoles: ["owner"] });

    const removed = await call("DELETE", `/v1/projects/${projectId}/stage-rules/production`, { token: owner.accessToken });
    expect(removed.status, removed.text).toBe(204);
    expectProblem(await call("DELETE", `/v1/projects/${projectId}/stage-rules/production`, { token: owner.accessToken }), 404, "not_found");
    list = await rules(projectId, owner);
    expect(list.body.items.find((r: any) => r.stage === "production")).toMatchObject({ configured: false, branches: ["main"] });

    const audits = await withDb((db) => db.select().from(auditLogs).where(eq(auditLogs.resourceId, projectId)));
    expect(audits.map((a) => a.action).filter((a) => a.startsWith("stage_rule."))).toEqual(
      expect.arrayContaining(["stage_rule.create", "stage_rule.update", "stage_rule.delete"]),
    );
    const update = audits.find((a) => a.action === "stage_rule.update");
    expect(update?.details).toMatchObject({ stage: "production", before: { approverRoles: ["owner", "admin"] }, after: { approverRoles: ["owner"] } });
  });

  it("are in the OpenAPI document", async () => {
    const doc = (await call("GET", "/v1/openapi.json")).body;
    expect(Object.keys(doc.paths["/v1/projects/{id}/stage-rules"])).toEqual(["get"]);
    expect(Object.keys(doc.paths["/v1/projects/{id}/stage-rules/{stage}"]).sort()).toEqual(["delete", "put"]);
  });

  it("refuses branch patterns git would never name, unknown roles, bad stage names and unknown fields with a 400", async () => {
    const projectId = (await createProject(owner, workspaceId)).id;
    const bad: [string, unknown][] = [
      ["production", { requireApproval: true, branches: ["main", "a..b"] }],
      ["production", { requireApproval: true, branches: ["feature x"] }],
      ["production", { requireApproval: true, branches: ["ma\u0000in"] }],
      ["production", { requireApproval: true, branches: [] }],
      ["production", { requireApproval: true, branches: ["main", "main"] }],
      ["production", { requireApproval: true, branches: ["main"], approverRoles: ["developer"] }],
      ["production", { requireApproval: true, branches: ["main"], approverRoles: [] }],
      ["production", { requireApproval: "yes", branches: ["main"] }],
      ["production", { requireApproval: true, branches: ["main"], extra: 1 }],
      ["Production", production],
      ["a".repeat(51), production],
      ["prod%00", production],
    ];
    for (const [stage, body] of bad) expectProblem(await put(projectId, stage, owner, body), 400, "validation");
    expectProblem(await call("GET", `/v1/projects/not-a-uuid/stage-rules`, { token: owner.accessToken }), 400, "validation");
    expect((await rules(projectId, owner)).body.items).toEqual([]);
  });

  it("another workspace can neither read nor set them; developers and viewers read but cannot set or delete them", async () => {
    const projectId = (await createProject(owner, workspaceId)).id;
    expect((await put(projectId, "production", owner, production)).status).toBe(201);

    const stranger = await signup("stranger");
    await createWorkspace(stranger);
    expectProblem(await rules(projectId, stranger), 404, "not_found");
    expectProblem(await put(projectId, "production", stranger, { requireApproval: false, branches: ["**"] }), 404, "not_found");
    expectProblem(await call("DELETE", `/v1/projects/${projectId}/stage-rules/production`, { token: stranger.accessToken }), 404, "not_found");

    const developer = await signup("dev");
    const viewer = await signup("viewer");
    const admin = await signup("admin");
    await addMember(owner, workspaceId, developer, "developer");
    await addMember(owner, workspaceId, viewer, "viewer");
    await addMember(owner, workspaceId, admin, "admin");
    expect((await rules(projectId, developer)).status).toBe(200);
    expect((await rules(projectId, viewer)).status).toBe(200);
    expectProblem(await put(projectId, "production", developer, { requireApproval: false, branches: ["**"] }), 403, "forbidden");
    expectProblem(await put(projectId, "staging", developer, { requireApproval: false, branches: ["**"] }), 403, "forbidden");
    expectProblem(await call("DELETE", `/v1/projects/${projectId}/stage-rules/production`, { token: developer.accessToken }), 403, "forbidden");
    expectProblem(await put(projectId, "production", viewer, production), 403, "forbidden");
    // Nothing the others tried changed the rule.
    expect((await rules(projectId, owner)).body.items).toEqual([
      expect.objectContaining({ stage: "production", requireApproval: true, branches: ["main", "release/*"] }),
    ]);
    expect((await put(projectId, "production", admin, { ...production, approverRoles: ["owner"] })).status).toBe(200);
  });
});
