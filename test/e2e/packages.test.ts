/**
 * The packages as a user gets them (issue 15 items 1 and 7): `npm pack -w cli -w runner` makes both
 * tarballs (prepack bundles them, npm packages included but Ink and React), `npm install -g` puts
 * them into an empty prefix, and from there, with a PATH of only that prefix and Node and a HOME of
 * its own, `sparki signup`, a workspace and a project, `sparki-runner register` and `run` against
 * the local stack, and a build that succeeds, followed to its end with `sparki builds trigger
 * --follow`. Nothing of the checkout is reachable: the prefix and HOME are under a temp dir, and no
 * tsx, TypeScript or node_modules of ours is on the way. Packing and installing take some seconds,
 * once for the file.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binPackages, type BinPackage } from "../../dev/bins.ts";
import { E2E, killGroup, run, until } from "./support.js";

const projectRoot = resolve(import.meta.dirname, "..", "..");
const e2e = new E2E();
let prefix: string;
let home: string;
let packed: { name: string; version: string; filename: string; files: { path: string }[] }[];
let runnerPid: number | undefined;
/** The files of the checkout's bundles (the suite's `sparki` and `sparki-runner`) before packing. */
const bundledBeforePack: Record<string, string[]> = {};

/** A bundle's files in `dist/`: its entry and every chunk it imports, statically or on demand. */
function bundleFiles(pkg: BinPackage): string[] {
  const dist = join(projectRoot, pkg, "dist");
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, chunk] of readFileSync(join(dist, file), "utf8").matchAll(/(?:from |import\(?)"\.\/([\w-]+\.js)"/g)) visit(chunk as string);
  };
  visit(`${binPackages[pkg].bundle}.js`);
  return [...seen].sort();
}

/** A user's shell: the prefix's bin/ and Node on PATH, a HOME of its own, nothing of the test's environment. */
const userEnv = (): NodeJS.ProcessEnv => ({
  PATH: [join(prefix, "bin"), dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
  HOME: home,
  XDG_CONFIG_HOME: join(home, ".config"),
  TMPDIR: join(e2e.work, "tmp"),
});

/** Runs an installed command (through its bin/ link and shebang, as a shell would), or Node, from HOME. */
function installed(command: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command === "node" ? process.execPath : join(prefix, "bin", command), args, {
      cwd: home,
      env: userEnv(),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", fail);
    child.once("close", (code) => done({ code, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

async function ok(command: string, args: string[], input?: string): Promise<string> {
  const result = await installed(command, args, input);
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

async function packAndInstall(): Promise<void> {
  const scratch = join(e2e.work, "packages");
  prefix = join(scratch, "prefix");
  home = join(scratch, "home");
  for (const dir of [prefix, home, join(e2e.work, "tmp")]) mkdirSync(dir, { recursive: true });
  // npm's own variables (when the suite runs under `npm test`) would point the installs elsewhere.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  for (const pkg of ["cli", "runner"] as const) bundledBeforePack[pkg] = bundleFiles(pkg);
  const pack = await run("npm", ["pack", "-w", "cli", "-w", "runner", "--pack-destination", scratch, "--json"], { cwd: projectRoot, env });
  packed = JSON.parse(pack.stdout);
  const tarballs = packed.map((p) => join(scratch, p.filename));
  await run("npm", ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", "--prefer-offline", ...tarballs], { cwd: scratch, env });
}

beforeAll(async () => {
  await e2e.start();
  await packAndInstall();
}, 240_000);

afterAll(async () => {
  if (runnerPid !== undefined) {
    killGroup(runnerPid, "SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    killGroup(runnerPid, "SIGKILL");
  }
  await e2e.close();
}, 60_000);

describe("sparki and sparki-runner from their tarballs", () => {
  it("packing rebuilds the same bundles as the suite's, so a sparki already running keeps its chunks", () => {
    // prepack runs in the package's folder and deletes the chunks it did not write: a bundle that
    // depended on the working directory renamed them all under the other tests' feet.
    for (const pkg of ["cli", "runner"] as const) {
      expect(bundledBeforePack[pkg]?.length, pkg).toBeGreaterThan(1);
      const present = new Set(readdirSync(join(projectRoot, pkg, "dist")));
      expect(
        bundledBeforePack[pkg]?.filter((file) => !present.has(file)),
        pkg,
      ).toEqual([]);
    }
  });

  it("hold only plain JavaScript, their package.json and their bin; each says its package's version", async () => {
    expect(packed.map((p) => p.name).sort()).toEqual(["sparki", "sparki-runner"]);
    for (const pkg of packed) {
      const paths = pkg.files.map((f) => f.path);
      expect(paths).toContain("bin.js");
      expect(paths).toContain("package.json");
      expect(paths).toContain("dist/THIRD-PARTY-LICENSES.txt");
      const others = paths.filter((p) => !["bin.js", "package.json", "README.md", "dist/THIRD-PARTY-LICENSES.txt"].includes(p));
      expect(
        others.every((p) => /^dist\/[\w-]+\.js$/.test(p)),
        paths.join(", "),
      ).toBe(true);
    }
    // zod is bundled in, not a dependency: its license goes with the bundle.
    const licenses = readFileSync(join(prefix, "lib", "node_modules", "sparki-runner", "dist", "THIRD-PARTY-LICENSES.txt"), "utf8");
    expect(licenses).toMatch(/^zod@\S+ \(MIT\)$/m);
    const version = (dir: string) => (JSON.parse(readFileSync(join(projectRoot, dir, "package.json"), "utf8")) as { version: string }).version;
    expect((await ok("sparki", ["--version"])).trim()).toBe(version("cli"));
    expect((await ok("sparki-runner", ["--version"])).trim()).toBe(version("runner"));
    // Ink and React are the CLI's only dependencies, imported by the TUI's chunk alone; it loads from the prefix.
    const dist = join(prefix, "lib", "node_modules", "sparki", "dist");
    expect(readFileSync(join(dist, "sparki.js"), "utf8")).not.toMatch(/from "(ink|react)"/);
    const tuiChunk = readdirSync(dist).find((f) => readFileSync(join(dist, f), "utf8").includes('from "ink"'));
    if (tuiChunk === undefined) throw new Error(`no chunk of ${dist} imports ink`);
    const loaded = await ok("node", ["--input-type=module", "-e", `console.log(Object.keys(await import(${JSON.stringify(join(dist, tuiChunk))})).join())`]);
    expect(loaded).toContain("App");
    // Past --version the whole bundle loads: its imports resolve from the prefix alone.
    expect(await ok("sparki", ["--help"])).toContain("Usage: sparki");
    expect(await ok("sparki-runner", ["--help"])).toContain("Usage: sparki-runner");
  });

  it("sign up, make a project, register and run a runner, and build it to success", async () => {
    const email = `packages-${Date.now()}@sparki.test`;
    await ok("sparki", ["signup", "--url", e2e.stack.apiUrl, "--email", email, "--name", "Packager", "--password-stdin"], "packaged password\n");
    const workspace = JSON.parse(await ok("sparki", ["workspaces", "create", "Packaged", "--json"])) as { id: string };

    // Registration tokens are made in the dashboard or the API; the CLI's saved API token makes one here.
    const saved = JSON.parse(readFileSync(join(home, ".config", "sparki", "config.json"), "utf8")) as { token: string; workspaceId: string };
    expect(saved.workspaceId).toBe(workspace.id);
    e2e.token = saved.token;
    const registration = await e2e.registrationToken(workspace.id);
    const config = join(home, "runner.json");
    await ok("sparki-runner", ["register", "--url", e2e.stack.apiUrl, "--token", registration, "--name", "packaged", "--labels", "linux", "--config", config]);

    const runner = spawn(join(prefix, "bin", "sparki-runner"), ["run", "--config", config, "--work-dir", join(home, "jobs"), "--no-sandbox"], {
      cwd: home,
      env: userEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    runnerPid = runner.pid;
    let runnerOutput = "";
    runner.stdout.on("data", (d: Buffer) => (runnerOutput += d.toString()));
    runner.stderr.on("data", (d: Buffer) => (runnerOutput += d.toString()));
    await until("the installed runner to start", () => runnerOutput.includes("runner started"), 30_000, { diagnostics: () => runnerOutput });

    const repo = await e2e.gitRepo("packaged-app", {
      "package.json": JSON.stringify({ name: "packaged-app", version: "1.0.0", scripts: { build: "node build.js" } }),
      "build.js": 'console.log("built by the packaged runner");\n',
      "sparki.yml": "language: javascript\ncommands:\n  install: null\n  lint: null\n  test: null\n  build: npm run build\noutputDir: null\n",
    });
    const project = JSON.parse(await ok("sparki", ["projects", "create", "--name", "packaged-app", "--git-url", repo, "--json"])) as { id: string };

    const followed = await installed("sparki", ["builds", "trigger", "--project", project.id, "--follow"]);
    expect(followed.code, `${followed.stdout}${followed.stderr}\n--- runner:\n${runnerOutput}`).toBe(0);
    expect(followed.stdout).toContain("built by the packaged runner");
    // The log ends as the coordinator finishes; the build's row in Postgres follows a moment later.
    const [listed] = (await e2e.api("GET", `/v1/projects/${project.id}/builds`)).body.items;
    expect((await e2e.waitForEnd(listed.id, 30_000)).status).toBe("succeeded");
    expect(runnerOutput).toContain("claimed job");
  }, 180_000);
});
