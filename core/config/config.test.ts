import { describe, expect, it } from "vitest";
import { detect, memoryTree } from "../detect/index.ts";
import { applyConfig, formatConfigIssues, parseSparkiConfig, renderSparkiConfig } from "./index.ts";

describe("parseSparkiConfig", () => {
  it("accepts overrides, pipeline and deployments, filling defaults", () => {
    const r = parseSparkiConfig(`
framework: nextjs
commands:
  lint: null
  build: pnpm build
pipeline:
  branches: [main, "release/*"]
  env: { NODE_OPTIONS: "--max-old-space-size=4096" }
deployments:
  - stage: staging
    platform: sparki-static
  - stage: production
    platform: fly
    approval: true
    strategy: canary
    canarySteps: [10, 50, 100]
    healthCheck: { path: /healthz }
`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.commands).toEqual({ lint: null, build: "pnpm build" });
    expect(r.config.pipeline).toEqual({
      branches: ["main", "release/*"],
      pullRequests: true,
      env: { NODE_OPTIONS: "--max-old-space-size=4096" },
      runnerLabels: ["linux"],
      cachePaths: [],
    });
    expect(r.config.deployments[1]).toEqual({
      stage: "production",
      platform: "fly",
      branches: ["main"],
      strategy: "canary",
      canarySteps: [10, 50, 100],
      approval: true,
      env: {},
      settings: {},
      healthCheck: { path: "/healthz", expectedStatus: 200, intervalSeconds: 10, timeoutSeconds: 5, healthyThreshold: 3, unhealthyThreshold: 3 },
    });
  });

  it("an empty file is a valid config that overrides nothing", () => {
    const r = parseSparkiConfig("");
    expect(r.ok && r.config.framework).toBe(undefined);
  });

  it("names line and column of a YAML syntax error", () => {
    const r = parseSparkiConfig("framework: vite\ncommands:\n  build: [unclosed\n");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it("refuses a file whose aliases would expand without bound (billion laughs), as an issue of the file", () => {
    const bomb = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...["b", "c", "d", "e", "f", "g", "h", "i"].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefgh"[i]}`).join(",")}]`),
      "pipeline: *i",
    ].join("\n");
    const result = parseSparkiConfig(bomb);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues).toEqual([{ path: "", line: 1, column: 1, message: expect.stringMatching(/alias/i) }]);
  });

  it("refuses text Postgres cannot store (a NUL, a lone surrogate) at its line, in values and in keys", () => {
    const nul = parseSparkiConfig('framework: vite\ncommands:\n  build: "npm run build\\0; cat /etc/passwd"\n');
    expect(nul.ok ? [] : nul.issues).toEqual([{ path: "commands.build", line: 3, column: 10, message: expect.stringMatching(/NUL/) }]);
    const surrogate = parseSparkiConfig('pipeline:\n  env:\n    "A\\ud800": x\n');
    // A key is reported as its map: its own text is what cannot be shown.
    expect(surrogate.ok ? [] : surrogate.issues.map((i) => [i.path, i.line])).toEqual([["pipeline.env", 2]]);
  });

  it("rejects duplicate keys at their line", () => {
    const r = parseSparkiConfig("framework: vite\nframework: astro\n");
    expect(r.ok ? [] : r.issues.map((i) => i.line)).toEqual([2]);
  });

  it("names line and column of schema errors, unknown keys included", () => {
    const r = parseSparkiConfig(["framework: Next.js", "comands:", "  build: x", "deployments:", "  - stage: prod", "    platform: heroku"].join("\n"));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.issues.map((i) => [i.path, [i.line, i.column]]));
    expect(byPath).toEqual({ framework: [1, 12], "": [2, 1], "deployments.0.platform": [6, 15] });
    expect(formatConfigIssues(r.issues)).toContain('sparki.yml:2:1: unknown key "comands"');
  });

  it("checks cross-field rules (script platform, duplicate stages)", () => {
    const r = parseSparkiConfig("deployments:\n  - stage: prod\n    platform: script\n  - stage: prod\n    platform: fly\n");
    expect(r.ok ? [] : r.issues.map((i) => [i.path, i.line])).toEqual([
      ["deployments.0.script", 2],
      ["deployments.1.stage", 4],
    ]);
  });
});

describe("applyConfig", () => {
  it("overrides detected fields one by one and records why", async () => {
    const detection = await detect(
      memoryTree({ "package.json": JSON.stringify({ scripts: { build: "vite build", lint: "eslint ." }, devDependencies: { vite: "5" } }) }),
    );
    const parsed = parseSparkiConfig("outputDir: build\ncommands:\n  lint: null\n");
    if (!parsed.ok) throw new Error("config should parse");
    const merged = applyConfig(detection, parsed.config);
    expect([merged.framework, merged.outputDir, merged.commands.lint, merged.commands.build]).toEqual(["vite", "build", null, "npm run build"]);
    expect(merged.evidence.filter((e) => e.file === "sparki.yml").map((e) => e.field)).toEqual(["commands.lint", "outputDir"]);
    // Each value has one source: the detector's evidence for a field sparki.yml sets is gone.
    expect(merged.evidence.filter((e) => e.field === "outputDir")).toEqual([{ field: "outputDir", file: "sparki.yml", reason: "set in sparki.yml: build" }]);
    expect(merged.evidence.filter((e) => e.field === "commands.build")).toEqual(detection.evidence.filter((e) => e.field === "commands.build"));
  });

  it("renders a sparki.yml that parses back to the detection", async () => {
    const detection = await detect(memoryTree({ "go.mod": "module example.com/x\n\ngo 1.22\n", "main.go": "package main\n" }));
    const parsed = parseSparkiConfig(renderSparkiConfig(detection));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(applyConfig(detection, parsed.config).commands).toEqual(detection.commands);
    expect(parsed.config.framework).toBe("go");
  });
});
