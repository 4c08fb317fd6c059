/**
 * `sparki deploy`, `rollback` and `deployments` against the real local stack, parsed with the
 * contract in core/contracts/deployments.ts. One stack for the file.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Deployment } from "../core/contracts/deployments.ts";
import { E2E, until } from "../test/e2e/support.js";
import { sparkiBin } from "../dev/bins.ts";

const BIN = sparkiBin;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A sparki.yml whose build writes dist/index.html, deployed to sparki-static stages. */
const siteYml = (stages: string) => `language: javascript
commands:
  install: null
  lint: null
  test: null
  build: "mkdir -p dist && echo \\"<h1>$(git rev-parse --short HEAD 2>/dev/null || echo v)</h1>\\" > dist/index.html"
outputDir: dist
deployments:
${stages}`;

describe("sparki deploy against the local stack", () => {
  const e2e = new E2E();
  let home: string;
  let token: string;

  function sparki(args: string[]): Promise<Run> {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SPARKI_")));
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { ...env, XDG_CONFIG_HOME: home, SPARKI_URL: e2e.stack.apiUrl, SPARKI_TOKEN: token },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }
  const json = (run: Run): any => {
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout);
  };
  /** A project from a repository with `stages`, built once to success; returns the build id. */
  async function greenBuild(name: string, stages: string): Promise<{ projectId: string; buildId: string }> {
    const repo = await e2e.gitRepo(name, { "package.json": JSON.stringify({ name, version: "1.0.0" }), "sparki.yml": siteYml(stages) });
    const project = await e2e.project(name, repo);
    const buildId = await e2e.trigger(project.id);
    const build = await e2e.waitForEnd(buildId);
    expect(build.status, e2e.diagnostics()).toBe("succeeded");
    return { projectId: project.id, buildId };
  }

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "sparki-deploy-home-"));
    await e2e.start();
    const created = await e2e.api("POST", "/v1/tokens", { name: "deploy test" });
    token = created.body.token;
    await e2e.runner("deployer");
  }, 240_000);

  afterAll(async () => {
    await e2e.close();
    if (home) rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it("deploy --follow prints the events and exits 0; list, show and rollback --to", async () => {
    const { projectId, buildId } = await greenBuild("site", "  - stage: production\n    platform: sparki-static\n");
    const run = await sparki(["deploy", buildId, "--follow"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/production\s+\S+/);
    const first = /Deployment ([0-9a-f-]{36}) started/.exec(run.stderr)?.[1] ?? "";
    expect(first).not.toBe("");

    const shown = Deployment.parse(json(await sparki(["deployments", "show", first, "--json"])));
    expect(shown).toMatchObject({ id: first, buildId, status: "succeeded", trigger: "manual" });
    expect(shown.stages.map((s) => s.name)).toEqual(["production"]);
    expect((await sparki(["deployments", "show", first])).stdout).toMatch(/status\s+succeeded/);

    const again = json(await sparki(["deploy", buildId, "--json"]));
    const second = Deployment.parse(again).id;
    await until(
      "the second deployment to succeed",
      async () => Deployment.parse(json(await sparki(["deployments", "show", second, "--json"]))).status === "succeeded",
      60_000,
    );

    const list = json(await sparki(["deployments", "list", "--project", projectId, "--json"]));
    expect(list.items.map((d: { id: string }) => d.id)).toEqual(expect.arrayContaining([first, second]));
    expect((await sparki(["deployments", "--project", projectId])).stdout).toContain(second);

    const rolled = await sparki(["rollback", second, "--to", first, "--follow"]);
    expect(rolled.code, rolled.stderr).toBe(0);
  }, 240_000);

  it("a stage needing approval waits; approve lets it finish; cancel stops another", async () => {
    const { buildId } = await greenBuild(
      "gated",
      "  - stage: staging\n    platform: sparki-static\n  - stage: production\n    platform: sparki-static\n    approval: true\n",
    );
    const started = Deployment.parse(json(await sparki(["deploy", buildId, "--json"])));
    await until("the approval gate", async () => json(await sparki(["deployments", "show", started.id, "--json"])).status === "awaiting_approval", 60_000);
    const approved = json(await sparki(["deployments", "approve", started.id, "--json"]));
    expect(Deployment.parse(approved).id).toBe(started.id);
    const followed = await sparki(["deployments", "show", started.id, "--follow"]);
    expect(followed.code, followed.stderr).toBe(0);

    const other = Deployment.parse(json(await sparki(["deploy", buildId, "--json"])));
    await until("the approval gate", async () => json(await sparki(["deployments", "show", other.id, "--json"])).status === "awaiting_approval", 60_000);
    expect((await sparki(["deployments", "cancel", other.id])).stdout).toContain("Cancelled: deployment");
    expect(json(await sparki(["deployments", "show", other.id, "--json"])).status).toBe("cancelled");
  }, 240_000);

  it("stages set, ls and rm: the server's rule gates a stage sparki.yml leaves open, and show names who approved", async () => {
    const { projectId, buildId } = await greenBuild(
      "ruled",
      "  - stage: staging\n    platform: sparki-static\n  - stage: production\n    platform: sparki-static\n",
    );
    const set = json(await sparki(["stages", "set", "production", "--approval", "--approvers", "owner", "--project", projectId, "--json"]));
    expect(set).toMatchObject({ stage: "production", requireApproval: true, branches: ["main"], approverRoles: ["owner"], configured: true });
    // Flags left out keep the rule: only the branches change here.
    expect(json(await sparki(["stages", "set", "production", "--branches", "main,release/*", "--project", projectId, "--json"]))).toMatchObject({
      requireApproval: true,
      branches: ["main", "release/*"],
      approverRoles: ["owner"],
    });
    const listed = json(await sparki(["stages", "ls", "--project", projectId, "--json"]));
    expect(listed.items.map((r: any) => [r.stage, r.configured])).toEqual([
      ["production", true],
      ["staging", false],
    ]);
    expect((await sparki(["stages", "--project", projectId])).stdout).toMatch(/production\s+required\s+main, release\/\*\s+owner/);

    const started = Deployment.parse(json(await sparki(["deploy", buildId, "--json"])));
    await until(
      "the approval gate the rule added",
      async () => json(await sparki(["deployments", "show", started.id, "--json"])).status === "awaiting_approval",
      60_000,
    );
    expect((await sparki(["deployments", "show", started.id])).stdout).toMatch(/production .*needs owner/);
    json(await sparki(["deployments", "approve", started.id, "--json"]));
    const me = (await e2e.api("GET", "/v1/me")).body.user.email as string;
    const shown = Deployment.parse(json(await sparki(["deployments", "show", started.id, "--json"])));
    expect(shown.stages.find((s) => s.name === "production")).toMatchObject({ approval: true, approvedBy: { email: me }, approvedAt: expect.any(String) });
    expect((await sparki(["deployments", "show", started.id])).stdout).toContain(`by ${me}`);

    const bad = await sparki(["stages", "set", "production", "--approvers", "developer", "--project", projectId]);
    expect([bad.code, bad.stderr.trim().split("\n").length]).toEqual([2, 1]);
    const refused = await sparki(["stages", "set", "production", "--branches", "a..b", "--project", projectId]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("branch pattern");
    expect((await sparki(["stages", "rm", "production", "--project", projectId])).stdout).toContain("accepts only the project's default branch");
    expect((await sparki(["stages", "rm", "production", "--project", projectId])).code).toBe(4);
  }, 240_000);

  it("an unknown deployment is exit 4 with one line", async () => {
    for (const args of [
      ["deployments", "show", "00000000-0000-4000-8000-000000000000"],
      ["deployments", "approve", "00000000-0000-4000-8000-000000000000"],
      ["rollback", "nope"],
    ]) {
      const run = await sparki(args);
      expect(run.code).toBe(4);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});
