/**
 * The runner's image and systemd unit, checked without Docker or systemd running: the
 * Dockerfile through the parser and validator of the Docker language server (dockerfile-ast,
 * dockerfile-utils), every file it copies from the context present in the repository, and the
 * unit through `systemd-analyze verify` (systemd's own parser) where systemd is installed.
 * What these cannot show: that the image builds and runs. See the leftovers in README.md.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { DockerfileParser, type Instruction, JSONInstruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import { defaultGracePeriodSeconds } from "../config.ts";

const root = resolve(import.meta.dirname, "..", "..");
const dockerfileText = readFileSync(join(root, "runner", "Dockerfile"), "utf8");
const dockerfile = DockerfileParser.parse(dockerfileText);
const unitText = readFileSync(join(root, "runner", "sparki-runner.service"), "utf8");
const execFileAsync = promisify(execFile);

const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const jsonForm = (i: Instruction) => {
  if (!(i instanceof JSONInstruction)) throw new Error(`${i.getKeyword()} is not in JSON (exec) form`);
  return i.getJSONStrings().map((s) => s.getJSONValue());
};
const stages = () => {
  // Instructions by stage: everything after a FROM up to the next one.
  const out: Instruction[][] = [];
  for (const i of dockerfile.getInstructions()) {
    if (i.getKeyword() === "FROM") out.push([]);
    out.at(-1)?.push(i);
  }
  return out;
};

describe("runner/Dockerfile", () => {
  it("passes the Docker language server's validator", () => {
    expect(validate(dockerfileText).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it("builds on Node 22 slim and ships git, bubblewrap and an init, running as a user of its own", () => {
    const froms = dockerfile.getFROMs();
    expect(froms.map((f) => `${f.getImageName()}:${f.getImageTag()}`)).toEqual(["node:22-bookworm-slim", "node:22-bookworm-slim"]);
    const final = stages().at(-1) ?? [];
    const installed = final.filter((i) => i.getKeyword() === "RUN").flatMap(args);
    expect(installed).toEqual(expect.arrayContaining(["git", "bubblewrap", "tini", "ca-certificates"]));
    expect(final.filter((i) => i.getKeyword() === "USER").map(args)).toEqual([["runner"]]);
    const entrypoint = final.find((i) => i.getKeyword() === "ENTRYPOINT");
    const cmd = final.find((i) => i.getKeyword() === "CMD");
    if (!entrypoint || !cmd) throw new Error("no ENTRYPOINT or CMD in the final stage");
    expect(jsonForm(entrypoint)).toEqual(["/usr/bin/tini", "--", "sparki-runner"]);
    expect(jsonForm(cmd)).toEqual(["run"]);
    expect(final.filter((i) => i.getKeyword() === "STOPSIGNAL").map(args)).toEqual([["SIGTERM"]]);
    // Jobs under a plain path, set the way a container sets the rest: the environment.
    expect(final.filter((i) => i.getKeyword() === "ENV").flatMap(args)).toContain("SPARKI_RUNNER_WORK_DIR=/work");
  });

  it("copies only what exists in the context, and packs the runner the way README's install does", () => {
    const [build] = stages();
    const fromContext = (build ?? []).filter((i) => i.getKeyword() === "COPY").flatMap((i) => args(i).slice(0, -1));
    expect(fromContext.length).toBeGreaterThan(0);
    for (const source of fromContext) expect(existsSync(join(root, source)), source).toBe(true);
    // npm ci needs every workspace's package.json before the rest of the context arrives.
    const { workspaces } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[] };
    for (const workspace of workspaces) expect(fromContext).toContain(`${workspace}/package.json`);
    const commands = (build ?? []).filter((i) => i.getKeyword() === "RUN").flatMap(args);
    expect(commands.join(" ")).toContain("npm pack -w runner --pack-destination /out");
    const installed = (stages().at(-1) ?? []).filter((i) => i.getKeyword() === "RUN").flatMap(args);
    expect(installed.join(" ")).toContain("npm install -g --no-audit --no-fund /tmp/package/sparki-runner-*.tgz");
  });

  it("leaves checkouts' leftovers out of the build context", () => {
    const ignore = readFileSync(join(root, "runner", "Dockerfile.dockerignore"), "utf8").split("\n");
    expect(ignore).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", ".git", ".sparki"]));
  });
});

/** The value of `key=` lines in a unit (systemd-analyze checks the syntax; this reads values). */
const unitValues = (key: string) =>
  unitText
    .split("\n")
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

const systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => existsSync(p));

describe("runner/sparki-runner.service", () => {
  it("signals the runner alone and waits out its grace period before killing", () => {
    const execStart = unitValues("ExecStart");
    expect(execStart).toHaveLength(1);
    const grace = /--grace-period (\d+)/.exec(execStart[0] ?? "")?.[1];
    expect(Number(grace)).toBe(defaultGracePeriodSeconds);
    expect(unitValues("KillSignal")).toEqual(["SIGTERM"]);
    // control-group would SIGTERM every step at once and end the builds the grace period is for.
    expect(unitValues("KillMode")).toEqual(["mixed"]);
    // The grace period, then killing steps, draining the log (≤ 60 s) and handing jobs back.
    expect(Number(unitValues("TimeoutStopSec")[0])).toBe(defaultGracePeriodSeconds + 90);
    expect(unitValues("RestartPreventExitStatus")).toEqual(["1"]);
  });

  it.skipIf(systemdAnalyze === undefined)("passes systemd-analyze verify", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sparki-unit-"));
    try {
      // verify also checks that ExecStart's binary exists: point it at a stand-in, nothing else changes.
      const stub = join(dir, "sparki-runner");
      await writeFile(stub, "#!/bin/sh\n");
      await chmod(stub, 0o755);
      const unit = join(dir, "sparki-runner.service");
      await writeFile(unit, unitText.replaceAll("/usr/local/bin/sparki-runner", stub));
      const result = await execFileAsync(systemdAnalyze as string, ["verify", unit]).catch((err: { code: number; stderr: string }) => err);
      expect("code" in result ? result.code : 0, result.stderr).toBe(0);
      expect(result.stderr).toBe("");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
