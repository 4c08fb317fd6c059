import { describe, expect, it } from "vitest";
import type { Pipeline } from "../../core/pipeline/index.ts";
import { branchMatches, expandPipeline } from "./plan.js";

const pipeline: Pipeline = {
  version: 1,
  name: "web",
  triggers: { branches: ["*"], pullRequests: true },
  env: { CI: "true" },
  stages: [],
  jobs: [
    {
      id: "install",
      name: "install",
      stage: "install",
      app: ".",
      needs: [],
      runsOn: ["linux"],
      workingDirectory: ".",
      timeoutMinutes: 15,
      env: {},
      cache: null,
      steps: [{ name: "install", run: "npm ci" }],
      artifacts: [],
      branches: null,
      deploy: null,
    },
    {
      id: "build",
      name: "build web",
      stage: "build",
      app: "apps/web",
      needs: ["install"],
      runsOn: ["linux"],
      workingDirectory: "apps/web",
      timeoutMinutes: 30,
      env: { NODE_ENV: "production" },
      cache: null,
      steps: [
        { name: "install", run: "npm ci" },
        { name: "Build it!", run: "npm run build" },
      ],
      artifacts: ["apps/web/dist"],
      branches: ["main", "release/*"],
      deploy: null,
    },
  ],
};

describe("expandPipeline", () => {
  it("maps jobs, needs, steps, env and artifacts", () => {
    const { jobs, skipped } = expandPipeline("b", pipeline, "main");
    expect(skipped).toEqual([]);
    expect(jobs.map((j) => [j.id, j.needs])).toEqual([
      ["b.1", []],
      ["b.2", ["b.1"]],
    ]);
    expect(jobs[1]).toMatchObject({
      name: "build web",
      labels: ["linux"],
      env: { CI: "true", NODE_ENV: "production" },
      artifacts: [{ name: "apps/web/dist", path: "apps/web/dist" }],
      timeoutSeconds: 1800,
    });
    expect(jobs[1]?.steps.map((s) => [s.id, s.command])).toEqual([
      ["install", "cd 'apps/web' && npm ci"],
      ["build-it", "cd 'apps/web' && npm run build"],
    ]);
  });

  it("skips jobs whose branch filter leaves this branch out", () => {
    expect(expandPipeline("b", pipeline, "feature/x").skipped).toEqual(["b.2"]);
    expect(expandPipeline("b", pipeline, "release/1.2").skipped).toEqual([]);
  });

  it("runs a tag build (no branch) only the jobs without a branch filter", () => {
    expect(expandPipeline("b", pipeline, null).skipped).toEqual(["b.2"]);
  });

  it("hands each job its cache, leaving out paths the runner protocol refuses", () => {
    const install = pipeline.jobs[0];
    if (!install) throw new Error("no install job");
    const cache = { key: "deps-npm-abc", restoreKeys: ["deps-npm-"], paths: ["~/.npm", "node_modules", "/etc", "../up"], runtime: "node" };
    const cached = { ...pipeline, jobs: [{ ...install, cache }] };
    expect(expandPipeline("b", cached, "main").jobs[0]?.cache).toEqual({ ...cache, paths: ["~/.npm", "node_modules"] });
    const hostile = { ...pipeline, jobs: [{ ...install, cache: { ...cache, paths: ["/etc"] } }] };
    expect(expandPipeline("b", hostile, "main").jobs[0]?.cache).toBeUndefined();
    expect(expandPipeline("b", pipeline, "main").jobs[0]?.cache).toBeUndefined();
  });
});

it("matches branch globs", () => {
  expect(branchMatches("*", "main")).toBe(true);
  expect(branchMatches("*", "feature/x")).toBe(false);
  expect(branchMatches("**", "feature/x")).toBe(true);
  expect(branchMatches("release/*", "release/1.2")).toBe(true);
  expect(branchMatches("main", "mainline")).toBe(false);
});
