/**
 * A build whose job asks for labels no runner has says so, instead of sitting "queued": the API's
 * job shows `waiting.reason`, and `sparki builds trigger --follow` prints it, on the real stack
 * with a real runner (labels `linux`) that plans the build but cannot take its `gpu` job.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sparkiBin } from "../../dev/bins.ts";
import { E2E, oneStepYml, until } from "./support.js";

const e2e = new E2E();
let home: string;
const children: { kill(signal: NodeJS.Signals): boolean }[] = [];

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "sparki-waiting-"));
  await e2e.start();
  await e2e.runner("linux-only", { labels: "linux" });
}, 180_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await e2e.close();
  rmSync(home, { recursive: true, force: true });
}, 60_000);

describe("a job no online runner can take", () => {
  it("says why in the API and in sparki builds trigger --follow", async () => {
    const repo = await e2e.gitRepo("gpu", {
      "package.json": JSON.stringify({ name: "gpu", version: "1.0.0" }),
      "sparki.yml": `${oneStepYml("nvidia-smi")}pipeline:\n  runnerLabels: [linux, gpu]\n`,
    });
    const project = await e2e.project("gpu", repo);
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SPARKI_")));
    const cli = spawn(process.execPath, [sparkiBin, "builds", "trigger", "--project", project.id, "--follow"], {
      env: { ...inherited, XDG_CONFIG_HOME: home, SPARKI_URL: e2e.stack.apiUrl, SPARKI_TOKEN: e2e.token, SPARKI_WORKSPACE: e2e.workspaceId },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(cli);
    let stderr = "";
    cli.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const reason = "no runner online with labels gpu, linux";
    await until("the CLI to say why the build job waits", () => stderr.includes(`job build waiting: ${reason}\n`), 120_000, {
      diagnostics: async () => {
        const id = /Build #\d+ queued: (\S+)/.exec(stderr)?.[1];
        const api = id ? JSON.stringify((await e2e.api("GET", `/v1/builds/${id}`)).body) : "(no build id yet)";
        return `cli stderr: ${JSON.stringify(stderr)}\nGET build: ${api}\n${e2e.diagnostics()}`;
      },
    });
    const buildId = /Build #\d+ queued: (\S+)/.exec(stderr)?.[1];
    expect(buildId).toBeDefined();
    const build = await e2e.build(buildId as string);
    expect(build.jobs.find((j: { kind: string }) => j.kind === "plan")).toMatchObject({ status: "succeeded", waiting: null });
    expect(build.jobs.find((j: { name: string }) => j.name === "build")).toMatchObject({
      status: "queued",
      labels: ["gpu", "linux"],
      waiting: { reason },
    });
    // Still following: the build has not ended, and nothing claims to have started the job.
    expect(cli.exitCode).toBeNull();
  }, 150_000);
});
