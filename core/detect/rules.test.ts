import { describe, expect, it } from "vitest";
import { detect, memoryTree } from "./index.ts";

const pkg = (body: Record<string, unknown>) => JSON.stringify({ name: "x", private: true, ...body });
const run = (files: Record<string, string>) => detect(memoryTree(files));

describe("package manager rules", () => {
  it("tells Yarn Berry from classic by yarn.lock content", async () => {
    const berry = await run({ "package.json": pkg({}), "yarn.lock": "__metadata:\n  version: 8\n" });
    expect([berry.packageManager, berry.packageManagerVersion, berry.commands.install]).toEqual(["yarn", ">=2", "yarn install --immutable"]);
    const classic = await run({ "package.json": pkg({}), "yarn.lock": "# yarn lockfile v1\n" });
    expect([classic.packageManagerVersion, classic.commands.install]).toEqual(["1.x", "yarn install --frozen-lockfile"]);
  });

  it("reads Berry from .yarnrc.yml when there is no lockfile", async () => {
    const r = await run({ "package.json": pkg({ scripts: { build: "tsc" } }), ".yarnrc.yml": "nodeLinker: pnp\n" });
    expect([r.packageManager, r.packageManagerVersion, r.commands.install, r.commands.build]).toEqual(["yarn", ">=2", "yarn install", "yarn build"]);
  });

  it("uses the packageManager field when no lockfile is committed", async () => {
    const r = await run({ "package.json": pkg({ packageManager: "pnpm@9.1.0+sha512.abc" }) });
    expect([r.packageManager, r.packageManagerVersion, r.lockfile, r.commands.install]).toEqual(["pnpm", "9.1.0", null, "pnpm install"]);
  });

  it("lets the field pick among several lockfiles", async () => {
    const r = await run({ "package.json": pkg({ packageManager: "npm@10.8.0" }), "package-lock.json": "{}", "pnpm-lock.yaml": "lockfileVersion: '9.0'\n" });
    expect([r.packageManager, r.lockfile, r.commands.install]).toEqual(["npm", "package-lock.json", "npm ci"]);
  });

  it("defaults to npm install without lockfile or field", async () => {
    const r = await run({ "package.json": pkg({ scripts: { start: "node ." } }) });
    expect([r.packageManager, r.commands.install, r.commands.start]).toEqual(["npm", "npm install", "npm run start"]);
  });
});

describe("framework rules", () => {
  it("a meta-framework wins over Vite", async () => {
    const r = await run({ "package.json": pkg({ devDependencies: { vite: "5", "@sveltejs/kit": "2", "@sveltejs/adapter-static": "3" } }) });
    expect([r.framework, r.outputDir, r.commands.build]).toEqual(["sveltekit", "build", "npx vite build"]);
  });

  it("ignores npm's placeholder test script and dev-server start scripts", async () => {
    const r = await run({
      "package.json": pkg({
        scripts: { test: 'echo "Error: no test specified" && exit 1', start: "react-scripts start" },
        dependencies: { "react-scripts": "5" },
      }),
    });
    expect([r.framework, r.commands.test, r.commands.start, r.outputDir]).toEqual(["create-react-app", null, null, "build"]);
  });

  it("a CLI package (bin) is framework null", async () => {
    const r = await run({ "package.json": JSON.stringify({ name: "tool", bin: { tool: "cli.js" } }) });
    expect([r.framework, r.language, r.confidence]).toEqual([null, "javascript", 0.8]);
  });

  it("detects a Next.js static export from the build script", async () => {
    const r = await run({ "package.json": pkg({ scripts: { build: "next build && next export" }, dependencies: { next: "13" } }) });
    expect([r.outputDir, r.commands.start]).toEqual(["out", null]);
  });

  it("reads Angular's older browser builder and object outputPath", async () => {
    const angular = (build: unknown) =>
      run({
        "package.json": pkg({ dependencies: { "@angular/core": "17" } }),
        "angular.json": JSON.stringify({ projects: { shop: { projectType: "application", architect: { build } } } }),
      });
    expect((await angular({ builder: "@angular-devkit/build-angular:browser", options: { outputPath: "dist/shop" } })).outputDir).toBe("dist/shop");
    expect((await angular({ builder: "@angular/build:application", options: { outputPath: { base: "out", browser: "" } } })).outputDir).toBe("out");
    expect((await angular({ builder: "@angular/build:application", options: {} })).outputDir).toBe("dist/shop/browser");
  });

  it("falls back to Hugo's legacy config.toml only beside content/", async () => {
    const site = await run({ "config.toml": "baseURL = 'https://x.org/'\n", "content/a.md": "# a\n" });
    expect(site.framework).toBe("hugo");
    const notHugo = await run({ "config.toml": "baseURL = 'https://x.org/'\n" });
    expect(notHugo.framework).toBe(null);
  });
});

describe("empty and unknown repositories", () => {
  it("an empty repository is all null with a reason", async () => {
    const r = await run({});
    expect(r).toMatchObject({
      framework: null,
      language: null,
      packageManager: null,
      outputDir: null,
      apps: [],
      reason: "the repository is empty",
      confidence: 0,
    });
  });

  it("a malformed package.json is not a crash, and the reason says what is wrong", async () => {
    const r = await run({ "package.json": "{ not json" });
    expect(r.framework).toBe(null);
    expect(r.reason).toMatch(/^package\.json is not valid JSON \(.+\); fix it so Sparki can read it$/);
  });
});
