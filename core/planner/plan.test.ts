import { describe, expect, it } from "vitest";
import { PlanOutcome, PlanRequest } from "./contract.ts";
import { plan } from "./plan.ts";

const pkg = JSON.stringify({ name: "web", scripts: { build: "vite build", test: "vitest run" }, devDependencies: { vite: "7.0.0", vitest: "3.0.0" } });

describe("plan", () => {
  it("detects, applies the sparki.yml and generates the pipeline, in the shape the API parses", async () => {
    const request = PlanRequest.parse({
      files: [
        { path: "package.json", content: pkg },
        { path: "package-lock.json", content: "{}" },
        { path: "sparki.yml", content: "pipeline:\n  timeoutMinutes: 7\n" },
      ],
      name: "web",
      configPath: "sparki.yml",
      detection: null,
    });
    const outcome = await plan(request);
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.issues));
    expect(outcome.detection).toMatchObject({ language: "javascript", framework: "vite", packageManager: "npm" });
    expect(outcome.pipeline.jobs.length).toBeGreaterThan(0);
    expect(outcome.pipeline.jobs.every((j) => j.timeoutMinutes === 7)).toBe(true);
    // What the API stores is what the planner made: parsing its answer changes nothing.
    expect(PlanOutcome.parse(outcome)).toEqual(outcome);
  });

  it("reuses a detection it is given instead of detecting again", async () => {
    const first = await plan({ files: [{ path: "package.json", content: pkg }], name: "web", configPath: null, detection: null });
    if (!first.ok) throw new Error("planned nothing");
    const given = { ...first.detection, name: "from-cache" };
    const second = await plan({ files: [{ path: "package.json", content: pkg }], name: "web", configPath: null, detection: given });
    expect(second.ok && second.detection.name).toBe("from-cache");
  });

  it("plans nothing when the sparki.yml is broken, and says where", async () => {
    const outcome = await plan({ files: [{ path: "sparki.yml", content: "pipeline: [unclosed\n" }], name: "x", configPath: "sparki.yml", detection: null });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.issues[0]).toMatchObject({ line: expect.any(Number), message: expect.any(String) });
    expect(PlanOutcome.parse(outcome)).toEqual(outcome);
  });
});
