import { describe, expect, it } from "vitest";
import { parseSparkiConfig } from "../config/index.ts";
import { detect, memoryTree } from "../detect/index.ts";
import { canonicalJson, generatePipeline } from "./index.ts";

const tree = memoryTree({ "package.json": JSON.stringify({ name: "web", version: "1.0.0", scripts: { test: "echo ok" } }) });

async function triggersFor(yml: string) {
  const parsed = parseSparkiConfig(yml);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return (await generatePipeline({ detection: await detect(tree), tree, config: parsed.config })).triggers;
}

describe("sparki.yml pipeline.cancelSuperseded", () => {
  it("reaches the pipeline's triggers when set, either way", async () => {
    expect((await triggersFor("pipeline:\n  cancelSuperseded: true\n")).cancelSuperseded).toBe(true);
    expect((await triggersFor("pipeline:\n  cancelSuperseded: false\n")).cancelSuperseded).toBe(false);
  });

  it("is absent when left out, so existing pipelines keep their content (and version)", async () => {
    const triggers = await triggersFor("pipeline:\n  branches: [main]\n");
    expect("cancelSuperseded" in triggers).toBe(false);
    expect(canonicalJson(triggers)).toBe('{"branches":["main"],"pullRequests":true}');
  });

  it("refuses anything but a boolean, naming the line", () => {
    const parsed = parseSparkiConfig("pipeline:\n  cancelSuperseded: sometimes\n");
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.issues[0]).toMatchObject({ path: "pipeline.cancelSuperseded", line: 2 });
  });
});
