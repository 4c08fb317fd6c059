import { describe, expect, it } from "vitest";
import { branchPatternProblem } from "../pipeline/branches.ts";
import { defaultStageRule, effectiveStage, mayApprove, type StageRule } from "./stage-rules.ts";

const production: StageRule = { requireApproval: true, branches: ["main", "release/*"], approverRoles: ["owner", "admin"] };
const yml = (approval: boolean, branches: string[] | null) => ({ approval, branches });

describe("effectiveStage: sparki.yml only tightens the server's rule", () => {
  it("keeps the server's approval when sparki.yml drops it", () => {
    expect(effectiveStage("production", production, "main", yml(false, ["main"]), "main")).toMatchObject({ approval: true, allowed: true, refusal: null });
  });

  it("adds an approval sparki.yml asks for on a stage the server leaves open", () => {
    const open: StageRule = { requireApproval: false, branches: ["**"], approverRoles: ["owner"] };
    expect(effectiveStage("staging", open, "main", yml(true, null), "feature/x")).toMatchObject({ approval: true, approverRoles: ["owner"], allowed: true });
  });

  it("refuses a branch the server does not list, even when sparki.yml widens to every branch", () => {
    const e = effectiveStage("production", production, "main", yml(false, ["*", "**"]), "feature/steal");
    expect(e.allowed).toBe(false);
    expect(e.refusal).toBe("the project's rule for stage production accepts main, release/*, not branch feature/steal");
  });

  it("takes the intersection: a branch the server accepts but sparki.yml does not name stays out", () => {
    const e = effectiveStage("production", production, "main", yml(true, ["main"]), "release/2");
    expect(e).toMatchObject({ allowed: false, refusal: "sparki.yml limits stage production to main, not branch release/2" });
    expect(effectiveStage("production", production, "main", yml(true, ["release/*"]), "release/2").allowed).toBe(true);
  });

  it("applies only the server's list when sparki.yml names no branches", () => {
    expect(effectiveStage("production", production, "main", yml(false, null), "release/1").allowed).toBe(true);
    expect(effectiveStage("production", production, "main", yml(false, []), "dev").allowed).toBe(false);
  });

  it("without a rule, a stage accepts only the project's default branch and owners and admins approve", () => {
    expect(defaultStageRule("trunk")).toEqual({ requireApproval: false, branches: ["trunk"], approverRoles: ["owner", "admin"] });
    expect(effectiveStage("prod", null, "trunk", yml(false, ["*"]), "trunk")).toEqual({
      approval: false,
      approverRoles: ["owner", "admin"],
      allowed: true,
      refusal: null,
    });
    const e = effectiveStage("prod", null, "trunk", yml(false, ["*"]), "main");
    expect(e.allowed).toBe(false);
    expect(e.refusal).toContain("stage prod has no rule yet, so it accepts only the default branch trunk, not main");
  });

  it("a build without a branch deploys nowhere, even where every branch is accepted", () => {
    const open: StageRule = { requireApproval: false, branches: ["*", "**"], approverRoles: ["owner"] };
    expect(effectiveStage("any", open, "main", yml(false, null), "").allowed).toBe(false);
  });

  it("a rule with no branches accepts none", () => {
    expect(effectiveStage("frozen", { requireApproval: false, branches: [], approverRoles: ["owner"] }, "main", yml(false, null), "main")).toMatchObject({
      allowed: false,
      refusal: "the project's rule for stage frozen accepts no branch, not branch main",
    });
  });

  it("sparki.yml cannot add approvers: only the server's roles, and only roles that approve at all", () => {
    const ownersOnly: StageRule = { ...production, approverRoles: ["owner"] };
    expect(effectiveStage("production", ownersOnly, "main", yml(true, null), "main").approverRoles).toEqual(["owner"]);
    const tampered = { ...production, approverRoles: ["developer", "owner"] } as unknown as StageRule;
    expect(effectiveStage("production", tampered, "main", yml(true, null), "main").approverRoles).toEqual(["owner"]);
  });
});

describe("mayApprove", () => {
  it("lets an admin approve unless the rule says only owners; never a developer", () => {
    expect(mayApprove("admin", ["owner", "admin"])).toBe(true);
    expect(mayApprove("admin", ["owner"])).toBe(false);
    expect(mayApprove("owner", ["owner"])).toBe(true);
    expect(mayApprove("developer", ["owner", "admin", "developer"])).toBe(false);
    expect(mayApprove("viewer", ["owner", "admin"])).toBe(false);
  });
});

describe("branchPatternProblem", () => {
  it("accepts what sparki.yml writes", () => {
    for (const p of ["main", "release/*", "**", "*", "feature/**", "v1.2", "hotfix-*"]) expect(branchPatternProblem(p), p).toBeNull();
  });
  it("refuses what git never names a branch", () => {
    for (const p of [
      "",
      "a b",
      "a\u0000b",
      "a\nb",
      "a..b",
      "/main",
      "-x",
      "main/",
      "x.lock",
      "a//b",
      "a:b",
      "a?b",
      "a[b",
      "a\\b",
      "a~1",
      "a^",
      "a@{1}",
      ".hidden",
      "a/.b",
      "x".repeat(256),
    ]) {
      expect(branchPatternProblem(p), JSON.stringify(p)).not.toBeNull();
    }
  });
});
