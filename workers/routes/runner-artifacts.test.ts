/**
 * Artifact uploads stream to R2 under ARTIFACT_MAX_MIB (8 MiB in the test config), not the
 * API's 1 MiB JSON body limit, and one over the limit is refused with nothing stored.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../core/contracts/runner.ts";
import { call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { claimFor, registerRunner } from "../testing/runner.js";

let owner: TestUser;
let workspaceId: string;
let runnerToken: string;
beforeAll(async () => {
  owner = await signup("artifacts");
  workspaceId = (await createWorkspace(owner)).id;
  runnerToken = await registerRunner();
});

/** A claimed plan job of a fresh build, to upload under. */
async function heldJob(): Promise<{ job: Job; buildId: string; projectId: string }> {
  const project = await createProject(owner, workspaceId);
  const build = await call("POST", `/v1/projects/${project.id}/builds`, { token: owner.accessToken, body: { branch: "main", commitSha: "a".repeat(40) } });
  expect(build.status, build.text).toBe(201);
  return { job: await claimFor(runnerToken, build.body.id, "plan"), buildId: build.body.id, projectId: project.id };
}

/** `size` bytes of a repeating pattern, made while they are sent (never whole in memory). */
function generated(size: number): { body: ReadableStream<Uint8Array>; sha256: Promise<string> } {
  const fixed = new FixedLengthStream(size);
  const digest = new crypto.DigestStream("SHA-256");
  const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251);
  void (async () => {
    const writers = [fixed.writable.getWriter(), digest.getWriter()];
    for (let sent = 0; sent < size; sent += chunk.byteLength) {
      const part = chunk.subarray(0, Math.min(chunk.byteLength, size - sent));
      await Promise.all(writers.map((w) => w.write(part)));
    }
    await Promise.all(writers.map((w) => w.close()));
  })().catch(() => undefined);
  const sha256 = digest.digest.then((d) => [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join(""));
  return { body: fixed.readable, sha256 };
}

function upload(job: Job, name: string, size: number, body: ReadableStream<Uint8Array> | string) {
  return SELF.fetch(`http://sparki.test/v1/runner/jobs/${job.jobId}/artifacts/${name}`, {
    method: "PUT",
    headers: {
      authorization: `Bearer ${job.jobToken}`,
      "sparki-lease-id": job.leaseId,
      "sparki-fencing-token": String(job.fencingToken),
      "sparki-artifact-kind": "file",
      "content-length": String(size),
    },
    body,
  });
}

describe("artifact uploads", () => {
  it("stores a 5 MiB artifact, streamed, with its SHA-256", async () => {
    const { job, buildId, projectId } = await heldJob();
    const size = 5 * 1024 * 1024;
    const { body, sha256 } = generated(size);
    const res = await upload(job, "big.bin", size, body);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await res.json()).toEqual({ name: "big.bin", size, sha256: await sha256 });
    expect((await env.ARTIFACTS.head(`projects/${projectId}/builds/${buildId}/artifacts/big.bin`))?.size).toBe(size);
  });

  it("refuses an artifact over ARTIFACT_MAX_MIB with a 413 problem and stores nothing", async () => {
    const { job, buildId, projectId } = await heldJob();
    const size = 8 * 1024 * 1024 + 1;
    const res = await upload(job, "huge.bin", size, generated(size).body);
    const text = await res.text();
    expectProblem({ status: res.status, headers: res.headers, body: JSON.parse(text), text }, 413, "payload_too_large");
    expect(text).toContain("ARTIFACT_MAX_MIB");
    expect(await env.ARTIFACTS.head(`projects/${projectId}/builds/${buildId}/artifacts/huge.bin`)).toBeNull();
    expect((await call("GET", `/v1/builds/${buildId}/artifacts`, { token: owner.accessToken })).body.items).toEqual([]);
  });

  it("keeps the 1 MiB limit on every other body", async () => {
    const res = await call("POST", "/v1/auth/login", { body: { email: "x@example.com", password: "p".repeat(1024 * 1024 + 10) } });
    expectProblem(res, 413, "payload_too_large");
  });
});
