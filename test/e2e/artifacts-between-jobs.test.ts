/**
 * Artifacts between the jobs of a build on the real local stack (wrangler with local R2, Postgres,
 * a real runner): one job makes a 200 MiB file (in its step, not committed) and a folder; a
 * second job that needs it finds both in SPARKI_ARTIFACTS_DIR, byte for byte (its step checks the
 * SHA-256), before its steps run. The 200 MiB go up and down streamed through the Worker (the
 * local stack has no S3 credentials, so no presigned URLs), far past the API's 1 MiB body limit.
 * The zero-config pipeline has no job that needs another's artifact yet, so the plan job is taken
 * here by a scripted runner that uploads a two-job pipeline, as a runner's plan step would.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pipeline } from "../../core/pipeline/index.ts";
import { ControlPlaneClient } from "../../runner/client.ts";
import { E2E, run } from "./support.js";

const e2e = new E2E();
const MiB = 1024 * 1024;
const size = 200 * MiB;

beforeAll(async () => {
  await e2e.start();
}, 180_000);
afterAll(() => e2e.close(), 60_000);

const job = (id: string, needs: string[], run: string, artifacts: string[]) => ({
  id,
  name: id,
  stage: "build" as const,
  app: ".",
  needs,
  runsOn: ["linux"],
  workingDirectory: ".",
  timeoutMinutes: 10,
  env: {},
  cache: null,
  steps: [{ name: id, run }],
  artifacts,
  branches: null,
  deploy: null,
});

describe("artifacts between jobs", () => {
  it("hands a 200 MiB file and a folder made by one job to the job that needs it", { timeout: 600_000 }, async () => {
    const expected = createHash("sha256");
    const block = Buffer.alloc(MiB, "a");
    for (let i = 0; i < size / MiB; i++) expected.update(block);
    const digest = expected.digest("hex");
    const pipeline: Pipeline = {
      version: 1,
      name: "between-jobs",
      triggers: { branches: ["**"], pullRequests: true },
      env: {},
      stages: [{ name: "build", jobs: ["make", "use"] }],
      jobs: [
        job("make", [], `head -c ${size} /dev/zero | tr '\\000' a > big.bin && mkdir -p out/nested && echo hello > out/nested/hello.txt`, ["big.bin", "out"]),
        job(
          "use",
          ["make"],
          [
            'ls -la "$SPARKI_ARTIFACTS_DIR"',
            `test "$(sha256sum "$SPARKI_ARTIFACTS_DIR/big.bin" | cut -c1-64)" = ${digest}`,
            'test "$(cat "$SPARKI_ARTIFACTS_DIR/out/nested/hello.txt")" = hello',
            "echo received-both",
          ].join(" && "),
          [],
        ),
      ],
    };
    const repo = await e2e.gitRepo("between", { "README.md": "artifacts between jobs\n" });
    const commitSha = (await run("git", ["ls-remote", repo, "refs/heads/main"])).stdout.slice(0, 40);
    const project = await e2e.project("between", repo);
    const buildId = await e2e.trigger(project.id);

    // A scripted runner of the workspace's own pool plans the build with the pipeline above.
    const api = new ControlPlaneClient(e2e.stack.apiUrl);
    const { runnerToken } = await api.register({ token: await e2e.registrationToken(), name: "planner", labels: ["linux"], version: "e2e" });
    const plan = await new ControlPlaneClient(e2e.stack.apiUrl, runnerToken).claim({ capacity: 1 }, AbortSignal.timeout(60_000));
    expect(plan?.buildId).toBe(buildId);
    if (!plan) return;
    const lease = { leaseId: plan.leaseId, fencingToken: plan.fencingToken };
    const planJob = api.forJob(plan);
    await planJob.uploadPipeline(plan.jobId, { ...lease, pipeline, commitSha });
    await planJob.complete(plan.jobId, { ...lease, status: "succeeded", exitCode: 0, steps: [] });

    await e2e.runner("between", { pool: "workspace" });
    const done = await e2e.waitForEnd(buildId, 500_000);
    const log = (await e2e.bytes(`/v1/builds/${buildId}/logs.txt`)).body.toString();
    expect(done.status, `${log.slice(-4000)}\n${e2e.diagnostics()}`).toBe("succeeded");
    expect(done.jobs.map((j: any) => [j.name, j.status])).toEqual([
      ["plan", "succeeded"],
      ["make", "succeeded"],
      ["use", "succeeded"],
    ]);
    expect(log).toMatch(new RegExp(`uploaded big\\.bin \\(file, ${size} bytes, sha256 ${digest.slice(0, 12)}\\)`));
    expect(log).toMatch(/sparki: received big\.bin \(file, 200\.0 MiB, sha256 [0-9a-f]{12}\) from job /);
    expect(log).toMatch(/sparki: received out \(directory, /);
    expect(log).toContain("received-both");
    const items = (await e2e.api("GET", `/v1/builds/${buildId}/artifacts`)).body.items;
    expect(items.map((a: any) => [a.name, a.size]).sort()).toEqual([
      ["big.bin", size],
      ["out", expect.any(Number)],
    ]);
  });
});
