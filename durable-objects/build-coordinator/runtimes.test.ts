import { describe, expect, it } from "vitest";
import type { Pipeline } from "../../core/pipeline/index.ts";
import { expandPipeline } from "./plan.js";
import { missingRuntime, runtimeProblem } from "./runtimes.js";

const job = (id: string, runtime?: { name: "node" | "python"; version: string }): Pipeline["jobs"][number] => ({
  id,
  name: id,
  stage: "test",
  app: ".",
  needs: [],
  runsOn: ["linux"],
  workingDirectory: ".",
  timeoutMinutes: 5,
  env: {},
  cache: null,
  steps: [{ name: id, run: "node --version" }],
  artifacts: [],
  branches: null,
  deploy: null,
  ...(runtime ? { runtime } : {}),
});

const pipeline = (jobs: Pipeline["jobs"]): Pipeline => ({
  version: 1,
  name: "p",
  triggers: { branches: ["*"], pullRequests: true },
  env: {},
  stages: [],
  jobs,
});

describe("runtime requirements in the coordinator", () => {
  it("a job's runtime joins its labels and reaches its spec; a job without one is as before", () => {
    const { jobs } = expandPipeline("b", pipeline([job("test", { name: "node", version: "18" }), job("lint")]), "main");
    expect(jobs[0]).toMatchObject({ labels: ["linux", "node-18"], runtime: { name: "node", version: "18" } });
    expect(jobs[1]?.labels).toEqual(["linux"]);
    expect(jobs[1] && "runtime" in jobs[1]).toBe(false);
  });

  it("names the missing runtime and what runners online have", () => {
    const { jobs } = expandPipeline("b", pipeline([job("lint"), job("test", { name: "node", version: "18" })]), "main");
    expect(runtimeProblem(jobs, new Set(["linux", "node-18"]))).toBeNull();
    const problem = runtimeProblem(jobs, new Set(["linux", "node-20", "node-22", "python-3.12"]));
    expect(problem).toMatch(
      /^No runner online has node-18, which job test needs \(its app pins node 18\); runners online have node-20, node-22\. Install Node\.js 18 on a runner/,
    );
    expect(problem).toContain("runtimeVersion in sparki.yml");
    expect(runtimeProblem(jobs, new Set(["linux", "python-3.12"]))).toContain("; no runner online reported any node.");
    expect(runtimeProblem(jobs, new Set(["linux"]))).toContain(
      "no runner online reported any runtime (runners older than runtime labels report none: upgrade sparki-runner)",
    );
  });

  it("asks every pool, and leaves the check out when a pool cannot answer", async () => {
    const { jobs } = expandPipeline("b", pipeline([job("test", { name: "python", version: "3.12" })]), "main");
    const pool = (labels: string[]) => ({ labelsOnline: async () => labels });
    expect(await missingRuntime(jobs, [pool(["linux"]), pool(["python-3.12"])], 90_000)).toBeNull();
    expect(await missingRuntime(jobs, [pool(["linux"]), pool(["python-3.11"])], 90_000)).toContain("runners online have python-3.11");
    const broken = { labelsOnline: async (): Promise<string[]> => Promise.reject(new Error("object reset")) };
    expect(await missingRuntime(jobs, [broken], 90_000)).toBeNull();
    // No job needs a runtime: no pool is asked.
    expect(await missingRuntime(expandPipeline("b", pipeline([job("lint")]), "main").jobs, [broken], 90_000)).toBeNull();
  });
});
