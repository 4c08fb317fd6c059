import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fsTree } from "../../node/fs-tree.ts";
import { parseSparkiConfig, type SparkiConfig } from "../config/index.ts";
import { detect, memoryTree, type FileTree } from "../detect/index.ts";
import { canonicalJson, FIND_OUTPUT_ENV, generatePipeline, PipelineSchema, sha256Hex } from "./index.ts";

const FIXTURES = fileURLToPath(new URL("../detect/fixtures", import.meta.url));

async function pipelineFor(tree: FileTree, yml?: string) {
  let config: SparkiConfig | undefined;
  if (yml !== undefined) {
    const parsed = parseSparkiConfig(yml);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    config = parsed.config;
  }
  return generatePipeline({ detection: await detect(tree), tree, ...(config ? { config } : {}) });
}

describe("generatePipeline", () => {
  it("builds install → lint/test → build for a single project, caching on the lockfile hash", async () => {
    const tree = await fsTree(join(FIXTURES, "sveltekit"));
    const p = PipelineSchema.parse(await pipelineFor(tree));
    const lock = (await tree.read("package-lock.json")) ?? "";
    expect(p.stages).toEqual([
      { name: "install", jobs: ["install"] },
      { name: "lint", jobs: ["lint"] },
      { name: "test", jobs: ["test"] },
      { name: "build", jobs: ["build"] },
    ]);
    const build = p.jobs.find((j) => j.id === "build");
    expect(build).toEqual({
      id: "build",
      name: "build",
      stage: "build",
      app: ".",
      needs: ["lint", "test"],
      runsOn: ["linux"],
      workingDirectory: ".",
      timeoutMinutes: 30,
      env: {},
      cache: {
        key: `deps-npm-${await sha256Hex(lock)}`,
        restoreKeys: ["deps-npm-"],
        paths: ["~/.npm"],
        runtime: "node",
        installPaths: ["node_modules"],
        installKey: `install-npm-${await sha256Hex([lock, "npm ci", "node_modules"].join("\0"))}`,
      },
      steps: [
        { name: "install", run: "npm ci" },
        { name: "build", run: "npm run build" },
      ],
      artifacts: [".svelte-kit"],
      branches: null,
      deploy: null,
    });
    expect(p.triggers).toEqual({ branches: ["*"], pullRequests: true });
  });

  it("asks the runner to find the output of a build that declares none, unless sparki.yml says there is none", async () => {
    const files = {
      "package.json": JSON.stringify({ name: "tool", private: true, scripts: { build: "node build.mjs", start: "node server.js" } }),
      "package-lock.json": "{}",
    };
    const found = PipelineSchema.parse(await pipelineFor(memoryTree(files)));
    const build = found.jobs.find((j) => j.id === "build");
    expect(build?.artifacts).toEqual([]);
    expect(build?.env).toEqual({ [FIND_OUTPUT_ENV]: "." });
    // Only the build job: the others have nothing to keep.
    expect(found.jobs.filter((j) => FIND_OUTPUT_ENV in j.env).map((j) => j.id)).toEqual(["build"]);

    const optedOut = PipelineSchema.parse(await pipelineFor(memoryTree(files), "outputDir: null\n"));
    expect(optedOut.jobs.find((j) => j.id === "build")?.env).toEqual({});

    // A declared output directory is uploaded as declared; nothing is searched for.
    const vite = PipelineSchema.parse(await pipelineFor(await fsTree(join(FIXTURES, "vite-react"))));
    expect(vite.jobs.find((j) => j.id === "build")).toMatchObject({ artifacts: ["dist"], env: {} });
  });

  it("is byte-identical for the same inputs, whatever the file order", async () => {
    const files = { "package.json": JSON.stringify({ scripts: { build: "vite build" }, devDependencies: { vite: "5" } }), "package-lock.json": "{}" };
    const reversed = Object.fromEntries(Object.entries(files).reverse());
    const a = canonicalJson(await pipelineFor(memoryTree(files), "pipeline: { env: { B: '2', A: '1' } }"));
    const b = canonicalJson(await pipelineFor(memoryTree(reversed), "pipeline: { env: { A: '1', B: '2' } }"));
    expect(a).toBe(b);
    expect(a).toContain('"env":{"A":"1","B":"2","CI":"true"}');
  });

  it("changes the cache key when the lockfile changes", async () => {
    const files = { "go.mod": "module x\n\ngo 1.22\n", "main.go": "package main\n", "go.sum": "a v1 h1:x=\n" };
    const before = (await pipelineFor(memoryTree(files))).jobs[0]?.cache?.key;
    const after = (await pipelineFor(memoryTree({ ...files, "go.sum": "a v2 h1:y=\n" }))).jobs[0]?.cache?.key;
    expect(before).toMatch(/^deps-go-[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
  });

  it("gives each monorepo app its jobs after one root install", async () => {
    const p = await pipelineFor(await fsTree(join(FIXTURES, "turborepo")));
    expect(p.jobs.map((j) => [j.id, j.needs, j.steps.at(-1)?.run, j.artifacts])).toEqual([
      ["install", [], "pnpm install --frozen-lockfile", []],
      ["apps-docs-lint", ["install"], "pnpm exec turbo run lint --filter=docs", []],
      ["apps-web-lint", ["install"], "pnpm exec turbo run lint --filter=web", []],
      ["apps-docs-build", ["apps-docs-lint"], "pnpm exec turbo run build --filter=docs", ["apps/docs/dist"]],
      ["apps-web-build", ["apps-web-lint"], "pnpm exec turbo run build --filter=web", ["apps/web/.next"]],
    ]);
  });

  it("names what each install leaves for the build's later jobs: a monorepo's apps' node_modules too, nothing for pip", async () => {
    const mono = await pipelineFor(await fsTree(join(FIXTURES, "turborepo")));
    expect(new Set(mono.jobs.map((j) => JSON.stringify(j.cache?.installPaths)))).toEqual(
      new Set([JSON.stringify(["node_modules", "apps/docs/node_modules", "apps/web/node_modules"])]),
    );
    // Install scripts of the project's own: the install is shared within a build, not across builds.
    const own = (scripts: Record<string, string>) =>
      pipelineFor(memoryTree({ "package.json": JSON.stringify({ name: "a", scripts: { test: "node t.js", ...scripts } }), "package-lock.json": "{}" }));
    expect((await own({})).jobs[0]?.cache?.installKey).toMatch(/^install-npm-[0-9a-f]{64}$/);
    expect((await own({ prepare: "husky" })).jobs[0]?.cache).toMatchObject({ installPaths: ["node_modules"] });
    expect((await own({ prepare: "husky" })).jobs[0]?.cache?.installKey).toBeUndefined();
    expect((await own({ postinstall: "patch-package" })).jobs[0]?.cache?.installKey).toBeUndefined();
    const pip = await pipelineFor(await fsTree(join(FIXTURES, "flask")));
    expect(pip.jobs.some((j) => j.cache !== null)).toBe(true);
    expect(pip.jobs.filter((j) => j.cache?.installPaths !== undefined)).toEqual([]);
  });

  it("applies sparki.yml: overrides, runner labels, timeouts, branch-filtered deploy stages", async () => {
    const tree = await fsTree(join(FIXTURES, "express"));
    const p = await pipelineFor(
      tree,
      [
        "commands: { test: null, build: npm run bundle }",
        "pipeline: { branches: [main], runnerLabels: [linux, x64], timeoutMinutes: 20 }",
        "deployments:",
        "  - { stage: staging, platform: script, script: ./deploy.sh staging }",
        "  - { stage: production, platform: fly, approval: true, branches: [release], healthCheck: { path: /health } }",
      ].join("\n"),
    );
    expect(p.stages.map((s) => [s.name, s.jobs])).toEqual([
      ["install", ["install"]],
      ["build", ["build"]],
      ["deploy", ["deploy-staging", "deploy-production"]],
    ]);
    const [staging, production] = p.jobs.filter((j) => j.stage === "deploy");
    expect([staging?.needs, staging?.steps, staging?.branches]).toEqual([["build"], [{ name: "deploy", run: "./deploy.sh staging" }], ["main"]]);
    expect([production?.needs, production?.branches, production?.deploy?.approval, production?.deploy?.healthCheck?.path]).toEqual([
      ["build", "deploy-staging"],
      ["release"],
      true,
      "/health",
    ]);
    expect(new Set(p.jobs.map((j) => `${j.runsOn.join(",")}/${j.timeoutMinutes}`))).toEqual(new Set(["linux,x64/20"]));
  });

  it("an unknown repository has no jobs", async () => {
    const p = await pipelineFor(memoryTree({ "README.md": "# hi\n" }));
    expect(p.jobs).toEqual([]);
  });

  it("puts a pinned runtime on every job of the app; sparki.yml's runtimeVersion changes or clears it", async () => {
    const files = {
      "package.json": JSON.stringify({ name: "pinned", version: "1.0.0", scripts: { test: "node test.js" } }),
      "package-lock.json": "{}",
      ".nvmrc": "18.19.0\n",
    };
    const pinned = PipelineSchema.parse(await pipelineFor(memoryTree(files)));
    expect(pinned.jobs.map((j) => [j.id, j.runtime])).toEqual([
      ["install", { name: "node", version: "18" }],
      ["test", { name: "node", version: "18" }],
    ]);
    const changed = await pipelineFor(memoryTree(files), "runtimeVersion: '22.1.0'\n");
    expect(changed.jobs.every((j) => j.runtime?.version === "22")).toBe(true);
    const cleared = await pipelineFor(memoryTree(files), "runtimeVersion: null\n");
    expect(cleared.jobs.every((j) => !("runtime" in j))).toBe(true);
    // Nothing pinned: no key at all, so the pipeline's content (and its version) is as before.
    const { ".nvmrc": _, ...unpinned } = files;
    expect(canonicalJson(await pipelineFor(memoryTree(unpinned)))).not.toContain('"runtime":{');
  });
});
