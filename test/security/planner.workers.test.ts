/**
 * The planner Worker parses users' files (sparki.yml, manifests) for POST /detect and PUT
 * /pipeline. What an attacker sends there reaches it through the API: the answer is a 4xx or a
 * plan, never a 500, and a refused file leaves the project's pipeline as it was.
 */
import { describe, expect, it } from "vitest";
import { call, createProject, createWorkspace, expectProblem, signup } from "../../workers/testing/api.js";
import { yamlAliasBomb } from "./hostile.js";

async function project() {
  const owner = await signup("planner");
  const ws = await createWorkspace(owner);
  const made = await createProject(owner, ws.id);
  return { token: owner.accessToken, path: `/v1/projects/${made.id}` };
}

describe("the planner boundary", () => {
  it("refuses a sparki.yml alias bomb in a snapshot with a 400 naming the file, and keeps no version", async () => {
    const { token, path } = await project();
    const res = await call("POST", `${path}/detect`, { token, body: { files: [{ path: "sparki.yml", content: yamlAliasBomb }] } });
    expectProblem(res, 400, "validation");
    expect(res.body.errors[0].pointer).toMatch(/^sparki\.yml:\d+:\d+/);
    expectProblem(await call("GET", `${path}/pipeline`, { token }), 404, "not_found");
  });

  it("plans around manifests that are not what they claim, without a 500", async () => {
    const { token, path } = await project();
    const hostile = [
      { path: "package.json", content: "{".repeat(5000) },
      { path: "Cargo.toml", content: "[package\nname = " },
      { path: "pnpm-workspace.yaml", content: yamlAliasBomb },
      { path: "pyproject.toml", content: "\u0000".repeat(1000) },
    ];
    const res = await call("POST", `${path}/detect`, { token, body: { files: hostile } });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
    expect([200, 201, 400]).toContain(res.status);
  });
});
