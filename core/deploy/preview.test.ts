import { describe, expect, it } from "vitest";
import { SparkiConfigSchema } from "../config/schema.ts";
import { PREVIEW_STAGE, previewEnvironment, previewNumber, previewStage } from "./preview.ts";

describe("preview stage names", () => {
  it("names a pull request's stage from its number alone, and reads it back", () => {
    expect(previewStage(7)).toBe("pr-7");
    expect(previewNumber("pr-7")).toBe(7);
    expect(previewEnvironment(7)).toBe("preview/pr-7");
    expect(previewNumber(previewStage(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("refuses anything but a positive safe integer", () => {
    for (const n of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1, 1e21]) expect(() => previewStage(n)).toThrow();
  });

  it("reads no other stage as a preview", () => {
    for (const s of ["production", "pr", "pr-", "pr-0", "pr-07", "pr-1a", "pr-1--x", "xpr-1", "pr-1.2", "PR-1", "pr-12345678901234567"])
      expect(previewNumber(s), s).toBeNull();
    expect(PREVIEW_STAGE.test("pr-1")).toBe(true);
  });

  it("keeps pr-<number> stage names out of sparki.yml", () => {
    const yml = (stage: string) => SparkiConfigSchema.safeParse({ deployments: [{ stage, platform: "sparki-static" }] });
    const refused = yml("pr-3");
    expect(refused.success).toBe(false);
    expect(JSON.stringify(refused.error?.issues)).toContain("kept for pull request previews");
    expect(yml("pr-review").success).toBe(true);
    expect(yml("staging").success).toBe(true);
  });
});
