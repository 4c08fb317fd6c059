import { describe, expect, it } from "vitest";
import { detectedFrameworks } from "../../core/detect/frameworks.ts";
import { FrameworkIdSchema } from "../../core/detect/schema.ts";
import { frameworkLabel, stageLabel } from "./labels.ts";

describe("frameworkLabel", () => {
  it("keeps a framework the detector gives, and says unknown when none was detected", () => {
    expect(frameworkLabel("nextjs")).toBe("nextjs");
    expect(frameworkLabel("actix-web")).toBe("actix-web");
    expect(frameworkLabel(null)).toBe("unknown");
    expect(frameworkLabel(undefined)).toBe("unknown");
  });

  it("folds any name the detector never gives into other, so a tenant cannot add series", () => {
    expect(frameworkLabel("made-up-framework-1")).toBe("other");
    expect(frameworkLabel("next")).toBe("other");
    expect(new Set(Array.from({ length: 50 }, (_, i) => frameworkLabel(`fw-${i}`)))).toEqual(new Set(["other"]));
  });

  it("lists only ids a detection may carry", () => {
    for (const id of detectedFrameworks) expect(FrameworkIdSchema.safeParse(id).success, id).toBe(true);
    expect(new Set(detectedFrameworks).size).toBe(detectedFrameworks.length);
  });
});

describe("stageLabel", () => {
  it("keeps the conventional stage names and folds their short forms in", () => {
    expect(["production", "prod", "live"].map((s) => stageLabel(s, "push"))).toEqual(["production", "production", "production"]);
    expect(["staging", "stage", "preprod"].map((s) => stageLabel(s, "manual"))).toEqual(["staging", "staging", "staging"]);
    expect(stageLabel("dev", "push")).toBe("development");
    expect(stageLabel("uat", "push")).toBe("qa");
  });

  it("labels every pull request preview preview, and any other name other", () => {
    expect(stageLabel("pr-42", "preview")).toBe("preview");
    expect(stageLabel("pr-7", "push")).toBe("preview");
    expect(stageLabel("eu-west-canary", "push")).toBe("other");
    expect(stageLabel("production-eu", "push")).toBe("other");
    expect(new Set(Array.from({ length: 50 }, (_, i) => stageLabel(`customer-${i}`, "push")))).toEqual(new Set(["other"]));
  });
});
