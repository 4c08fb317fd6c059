import { describe, expect, it } from "vitest";
import { buildMatches, quantile, score } from "./score.ts";

describe("bench scoring", () => {
  it("accepts the project's build script in any package manager's syntax", () => {
    for (const cmd of ["npm run build", "pnpm build", "yarn build", "bun run build", "tsc -b && vite build"]) {
      expect(buildMatches("script", cmd, "tsc -b && vite build")).toBe(true);
    }
    expect(buildMatches("script", "vite build", "tsc -b && vite build")).toBe(false);
    expect(buildMatches(null, "npm run build", null)).toBe(false);
    expect(buildMatches(/^cargo build\b/, "cargo build --release", null)).toBe(true);
  });

  it("normalises output directories before comparing", () => {
    expect(
      score({ framework: "vite", build: "script", out: ["dist"] }, { framework: "vite", build: "npm run build", test: null, out: "./dist/" }, "vite build"),
    ).toEqual({
      framework: true,
      build: true,
      test: null,
      out: true,
    });
    expect(score({ framework: "express", build: null, out: null }, { framework: null, build: null, test: null, out: "dist" }, null)).toEqual({
      framework: false,
      build: true,
      test: null,
      out: false,
    });
  });

  it("scores the test command where the truth has one: the test script in any syntax, a pattern, or none", () => {
    const truth = { framework: "vite", build: "script", out: ["dist"] } as const;
    const answer = { framework: "vite", build: "pnpm build", out: "dist" };
    const scripts = { build: "vite build", test: "vitest run" };
    for (const test of ["npm test", "npm run test", "pnpm test", "yarn test", "bun run test", "vitest run"]) {
      expect(score({ ...truth, test: "script" }, { ...answer, test }, scripts).test).toBe(true);
    }
    expect(score({ ...truth, test: "script" }, { ...answer, test: null }, scripts).test).toBe(false);
    expect(score({ ...truth, test: "script" }, { ...answer, test: "npm run test:unit" }, scripts).test).toBe(false);
    expect(score({ ...truth, test: null }, { ...answer, test: "npm test" }, scripts).test).toBe(false);
    expect(score({ ...truth, test: /^go test\b/ }, { ...answer, test: "go test ./..." }, scripts).test).toBe(true);
  });

  it("takes nearest-rank quantiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([quantile(xs, 0.5), quantile(xs, 0.95), quantile([], 0.5)]).toEqual([50, 95, Number.NaN]);
  });
});
