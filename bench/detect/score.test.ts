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
    expect(score({ framework: "vite", build: "script", out: ["dist"] }, { framework: "vite", build: "npm run build", out: "./dist/" }, "vite build")).toEqual({
      framework: true,
      build: true,
      out: true,
    });
    expect(score({ framework: "express", build: null, out: null }, { framework: null, build: null, out: "dist" }, null)).toEqual({
      framework: false,
      build: true,
      out: false,
    });
  });

  it("takes nearest-rank quantiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([quantile(xs, 0.5), quantile(xs, 0.95), quantile([], 0.5)]).toEqual([50, 95, Number.NaN]);
  });
});
