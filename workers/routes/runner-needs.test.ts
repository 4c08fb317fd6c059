/**
 * Artifacts between the jobs of a build: an upload records its job and SHA-256 (and is refused
 * when the bytes are not the SHA-256 sent); the job that needs it lists and downloads it, a job
 * that does not gets neither. With R2's S3 credentials configured the runner reserves a presigned
 * upload URL, commits only what its own upload stored, and downloads by redirect to R2.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../core/contracts/runner.ts";
import { call, signup, type TestUser } from "../testing/api.js";
import { lease } from "../testing/runner.js";
import { downloadNeeded, needsBuild, succeed, uploadThrough } from "../testing/needs-build.js";

let owner: TestUser;
beforeAll(async () => {
  owner = await signup("needs");
});

const bytes = new TextEncoder().encode("<h1>built</h1>\n");
const sha256 = async (data: Uint8Array) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))].map((b) => b.toString(16).padStart(2, "0")).join("");
const list = (job: Job) => call("POST", `/v1/runner/jobs/${job.jobId}/needs/artifacts`, { token: job.jobToken, body: lease(job) });
const s3Env = { ...env, R2_S3_ENDPOINT: "https://account.r2.cloudflarestorage.com", R2_ACCESS_KEY_ID: "key-id", R2_SECRET_ACCESS_KEY: "secret" };

/** A request to the Worker with R2's S3 credentials configured. */
async function withS3(path: string, init: RequestInit): Promise<Response> {
  const worker = (await import("../index.js")).default;
  const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
  return worker.fetch(new Request(`http://sparki.test${path}`, { redirect: "manual", ...init }), s3Env, ctx);
}

describe("artifacts of needed jobs", () => {
  it("hands the build job's artifact to the deploy job that needs it, and nothing to the lint job", async () => {
    const b = await needsBuild(owner);
    const build = await b.claim("build");
    const lint = await b.claim("lint");
    const up = await uploadThrough(build, "dist", bytes);
    expect(up.status, await up.clone().text()).toBe(201);
    const digest = await sha256(bytes);
    expect(await up.json()).toEqual({ name: "dist", size: bytes.byteLength, sha256: digest });
    await succeed(build);

    const deploy = await b.claim("deploy");
    const listed = await list(deploy);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body).toEqual({ items: [{ name: "dist", jobId: build.jobId, kind: "file", size: bytes.byteLength, sha256: digest }] });
    const got = await downloadNeeded(deploy, "dist");
    expect(got.status).toBe(200);
    expect(got.headers.get("sparki-artifact-sha256")).toBe(digest);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);

    // lint does not need build: the artifact is not its to have.
    expect((await list(lint)).body).toEqual({ items: [] });
    const refused = await downloadNeeded(lint, "dist");
    expect(refused.status).toBe(404);
    expect(await refused.text()).not.toContain("built");
  });

  it("refuses an upload whose bytes are not the SHA-256 sent, and keeps nothing", async () => {
    const b = await needsBuild(owner);
    const build = await b.claim("build");
    const res = await uploadThrough(build, "dist", bytes, "0".repeat(64));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("not the 0000");
    expect(await env.ARTIFACTS.head(`projects/${b.projectId}/builds/${b.buildId}/artifacts/dist`)).toBeNull();
  });

  it("with R2's S3 credentials: a presigned upload signed for this job, a commit only of that upload, a download by redirect", async () => {
    const b = await needsBuild(owner);
    const build = await b.claim("build");
    const digest = await sha256(bytes);
    const described = { ...lease(build), name: "dist", kind: "file", size: bytes.byteLength, sha256: digest };
    const post = (path: string, body: unknown, job: Job = build) =>
      withS3(`/v1/runner/jobs/${job.jobId}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${job.jobToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const reserved = await post("/artifacts/reserve", described);
    expect(reserved.status, await reserved.clone().text()).toBe(200);
    const { uploadUrl, headers } = (await reserved.json()) as { uploadUrl: string; headers: Record<string, string> };
    const url = new URL(uploadUrl);
    expect(`${url.origin}${url.pathname}`).toBe(
      `https://account.r2.cloudflarestorage.com/sparki-artifacts/projects/${b.projectId}/builds/${b.buildId}/artifacts/dist`,
    );
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;host;x-amz-checksum-sha256;x-amz-meta-jobid;x-amz-meta-kind;x-amz-meta-sha256");
    expect(headers).toMatchObject({ "x-amz-meta-jobid": build.jobId, "x-amz-meta-sha256": digest, "content-length": String(bytes.byteLength) });

    // Nothing stored yet: nothing to commit.
    expect((await post("/artifacts/commit", described)).status).toBe(404);
    // What the presigned PUT stores (R2 keeps the signed x-amz-meta-* as custom metadata).
    const key = `projects/${b.projectId}/builds/${b.buildId}/artifacts/dist`;
    await env.ARTIFACTS.put(key, bytes, { customMetadata: { jobid: build.jobId, kind: "file", sha256: digest } });
    expect((await post("/artifacts/commit", { ...described, size: bytes.byteLength + 1 })).status).toBe(404);
    expect((await post("/artifacts/commit", { ...described, sha256: "1".repeat(64) })).status).toBe(404);
    const committed = await post("/artifacts/commit", described);
    expect(committed.status, await committed.clone().text()).toBe(201);
    expect(await committed.json()).toEqual({ name: "dist", size: bytes.byteLength, sha256: digest });
    await succeed(build);

    const deploy = await b.claim("deploy");
    const res = await withS3(`/v1/runner/jobs/${deploy.jobId}/needs/artifacts/dist`, {
      headers: { authorization: `Bearer ${deploy.jobToken}`, "sparki-lease-id": deploy.leaseId, "sparki-fencing-token": String(deploy.fencingToken) },
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(`https://account.r2.cloudflarestorage.com/sparki-artifacts/${key}`);
    expect(location.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses to reserve an artifact over ARTIFACT_MAX_MIB", async () => {
    const b = await needsBuild(owner);
    const build = await b.claim("build");
    const res = await call("POST", `/v1/runner/jobs/${build.jobId}/artifacts/reserve`, {
      token: build.jobToken,
      body: { ...lease(build), name: "huge.bin", kind: "file", size: 8 * 1024 * 1024 + 1, sha256: "a".repeat(64) },
    });
    expect(res.status).toBe(413);
    expect(res.text).toContain("ARTIFACT_MAX_MIB");
  });
});
