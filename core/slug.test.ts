import { expect, it } from "vitest";
import { slugify } from "./slug.js";

it("derives readable slugs", () => {
  expect(slugify("Acme Corp")).toBe("acme-corp");
  expect(slugify("  Ünïcödé   Team!! ")).toBe("unicode-team");
  expect(slugify("***")).toBe("workspace");
  expect(slugify("a".repeat(60))).toHaveLength(48);
});
