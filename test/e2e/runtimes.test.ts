/**
 * The right runtime, on the real local stack with a real sandboxed runner whose NVM_DIR is a fake
 * nvm folder of this test's (under the host's /tmp, which the sandbox's private /tmp would hide):
 * its one Node, 7.77.0, is a wrapper whose `--version` says so and which runs the real node
 * otherwise. A project whose .nvmrc asks for Node 4, which no runner has, fails its plan with a
 * message naming node-4 and what the runners online have, in the API and in `sparki builds trigger
 * --follow`; one whose .nvmrc asks for 7 runs on that runner with the fake Node's bin first on PATH.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sparkiBin } from "../../dev/bins.ts";
import { E2E, oneStepYml, type RunnerProcess } from "./support.js";

const e2e = new E2E();
let nvm: string;
let home: string;
let runner: RunnerProcess;
const fakeBin = () => join(nvm, "versions", "node", "v7.77.0", "bin");

beforeAll(async () => {
  nvm = mkdtempSync(join(tmpdir(), "sparki-fake-nvm-"));
  home = mkdtempSync(join(tmpdir(), "sparki-runtimes-cli-"));
  mkdirSync(fakeBin(), { recursive: true });
  writeFileSync(
    join(fakeBin(), "node"),
    `#!/bin/sh\nif [ "$1" = "--version" ]; then echo v7.77.0; exit 0; fi\nexec ${JSON.stringify(process.execPath)} "$@"\n`,
  );
  chmodSync(join(fakeBin(), "node"), 0o755);
  await e2e.start();
  runner = await e2e.runner("runtimes", { sandbox: true, env: { NVM_DIR: nvm } });
}, 180_000);

afterAll(async () => {
  await e2e.close();
  rmSync(nvm, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}, 60_000);

const pkg = JSON.stringify({ name: "pinned", version: "1.0.0" });

describe("the right runtime", () => {
  it("the runner reports what it found", () => {
    expect(runner.output()).toContain("node-7 (7.77.0, nvm)");
  });

  it("a project pinning a Node no runner has fails its plan, saying so in the API and the CLI", async () => {
    const repo = await e2e.gitRepo("node4", { "package.json": pkg, ".nvmrc": "4\n", "sparki.yml": oneStepYml("node --version") });
    const project = await e2e.project("node4", repo);
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SPARKI_")));
    const cli = await promisify(execFile)(process.execPath, [sparkiBin, "builds", "trigger", "--project", project.id, "--follow"], {
      env: { ...inherited, XDG_CONFIG_HOME: home, SPARKI_URL: e2e.stack.apiUrl, SPARKI_TOKEN: e2e.token, SPARKI_WORKSPACE: e2e.workspaceId },
      timeout: 150_000,
    }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(cli.code, `${cli.stderr}\n${e2e.diagnostics()}`).toBe(1);
    const said = /^sparki: build failed: (.*)$/m.exec(cli.stderr)?.[1];
    expect(said, cli.stderr).toMatch(
      /^No runner online has node-4, which job build needs \(its app pins node 4\); runners online have (node-\d+, )*node-7(, node-\d+)*\./,
    );
    const buildId = /Build #\d+ queued: (\S+)/.exec(cli.stderr)?.[1] ?? "";
    const build = await e2e.waitForEnd(buildId);
    expect(build.status).toBe("failed");
    expect(build.error).toBe(said);
    // Only the plan ran: no job was queued for a runner that does not exist.
    expect(build.jobs.map((j: { kind: string; status: string }) => [j.kind, j.status])).toEqual([["plan", "succeeded"]]);
  }, 180_000);

  it("a project pinning a Node the runner has runs with that Node first on PATH, sandboxed", async () => {
    const step = `node --version && echo "PATH=$PATH" && command -v node && node -e 'console.log("the wrapped node runs " + process.version)'`;
    const repo = await e2e.gitRepo("node7", { "package.json": pkg, ".nvmrc": "v7\n", "sparki.yml": oneStepYml(step) });
    const project = await e2e.project("node7", repo);
    const id = await e2e.trigger(project.id);
    const build = await e2e.waitForEnd(id);
    const log = (await e2e.bytes(`/v1/builds/${id}/logs.txt`)).body.toString();
    expect(build.status, `${log}\n${e2e.diagnostics()}`).toBe("succeeded");
    expect(build.jobs.find((j: { name: string }) => j.name === "build")?.labels).toEqual(["linux", "node-7"]);
    expect(log).toContain(`sparki: runtime node-7: 7.77.0 from nvm, ${fakeBin()} first on PATH`);
    expect(log).toContain("v7.77.0\n");
    expect(log).toContain(`PATH=${fakeBin()}:`);
    expect(log).toContain(`${join(fakeBin(), "node")}\n`);
    expect(log).toContain(`the wrapped node runs ${process.version}\n`);
    expect(runner.output()).toContain("sandbox on (bubblewrap)");
  }, 180_000);
});
