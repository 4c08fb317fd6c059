import { describe, expect, it } from "vitest";
import { parseSparkiConfig } from "../config/index.ts";
import { detect, memoryTree } from "../detect/index.ts";
import { tagBuilds } from "./branches.ts";
import { canonicalJson, generatePipeline } from "./index.ts";

const tree = memoryTree({ "package.json": JSON.stringify({ name: "web", version: "1.0.0", scripts: { test: "echo ok" } }) });

async function triggersFor(yml: string) {
  const parsed = parseSparkiConfig(yml);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return (await generatePipeline({ detection: await detect(tree), tree, config: parsed.config })).triggers;
}

describe("sparki.yml pipeline.tags", () => {
  it("left out, every tag builds and the pipeline keeps its content (no tags key)", async () => {
    const triggers = await triggersFor("pipeline:\n  branches: [main]\n");
    expect("tags" in triggers).toBe(false);
    expect(canonicalJson(triggers)).toBe('{"branches":["main"],"pullRequests":true}');
    expect(tagBuilds(triggers.tags, "v1.0.0")).toBe(true);
    expect(tagBuilds(triggers.tags, "nightly/2026-01-01")).toBe(true);
  });

  it("a list builds only the tags it matches; [] builds none", async () => {
    const triggers = await triggersFor("pipeline:\n  tags: ['v*', 'release/**']\n");
    expect(triggers.tags).toEqual(["v*", "release/**"]);
    expect(tagBuilds(triggers.tags, "v1.2.0")).toBe(true);
    expect(tagBuilds(triggers.tags, "release/2026/01")).toBe(true);
    expect(tagBuilds(triggers.tags, "nightly")).toBe(false);
    // `*` stays within one path segment, as for branches.
    expect(tagBuilds(triggers.tags, "v1/rc")).toBe(false);
    expect(tagBuilds((await triggersFor("pipeline:\n  tags: []\n")).tags, "v1.0.0")).toBe(false);
    expect(tagBuilds(["*"], "a/b/c")).toBe(true);
  });

  it("refuses a tags value that is not a list of names", () => {
    const parsed = parseSparkiConfig("pipeline:\n  tags: v1\n");
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.issues[0]).toMatchObject({ path: "pipeline.tags", line: 2 });
  });
});
