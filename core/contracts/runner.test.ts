import { describe, expect, it } from "vitest";
import { ArtifactName, ArtifactPath, Job, RegisterRequest, RunnerLogFrame, ServerLogFrame, StepId } from "./runner.ts";

const job = {
  jobId: "j1",
  buildId: "b1",
  leaseId: "l1",
  jobToken: "job-token",
  fencingToken: 1,
  leaseExpiresAt: "2026-01-01T00:00:00.000Z",
  repo: { url: "https://github.com/acme/app.git", commitSha: "a".repeat(40), branch: "main" },
  steps: [{ id: "build", name: "Build", command: "npm run build", timeoutSeconds: 600, env: { NODE_ENV: "production" } }],
  env: {},
  secrets: [{ name: "NPM_TOKEN", value: "xyz" }],
  artifacts: [{ name: "dist", path: "dist" }],
  timeoutSeconds: 3600,
};

describe("runner protocol", () => {
  it("parses a job and defaults its kind to steps", () => {
    expect(Job.parse(job).kind).toBe("steps");
  });

  it("refuses jobs with duplicate step ids, bad env names or a short commit id", () => {
    const step = job.steps[0];
    expect(Job.safeParse({ ...job, steps: [step, step] }).success).toBe(false);
    expect(Job.safeParse({ ...job, env: { "BAD-NAME": "x" } }).success).toBe(false);
    expect(Job.safeParse({ ...job, repo: { ...job.repo, commitSha: "abc1234" } }).success).toBe(false);
  });

  it.each([
    ["../etc/passwd", "contains a '..' segment"],
    ["dist/../../x", "contains a '..' segment"],
    ["/etc/passwd", "is an absolute path"],
    ["C:/Windows", "is an absolute path"],
    ["a\\b", "contains a backslash"],
    ["bell\u0007", "contains a control character"],
    ["new\nline", "contains a control character"],
    ["", "is empty"],
  ])("refuses the artifact name and path %j (%s)", (value, reason) => {
    const name = ArtifactName.safeParse(value);
    expect(name.success).toBe(false);
    expect(name.error?.issues[0]?.message).toContain(reason);
    expect(ArtifactPath.safeParse(value).success).toBe(false);
  });

  it("accepts ordinary names, including nested ones, and refuses empty or '.' segments", () => {
    for (const ok of ["dist", "reports/junit.xml", "app-1.2.3.tar.gz", "..hidden"]) expect(ArtifactName.safeParse(ok).success).toBe(true);
    for (const bad of ["a//b", "./a", "a/"]) expect(ArtifactName.safeParse(bad).success).toBe(false);
  });

  it("step ids cannot collide with the runner's pseudo-steps", () => {
    expect(StepId.safeParse("sparki:checkout").success).toBe(false);
    expect(StepId.safeParse("build-1").success).toBe(true);
  });

  it("lines frames must number their lines consecutively from fromSeq", () => {
    const line = (seq: number) => ({ seq, step: "build", ts: 1, text: "x" });
    expect(RunnerLogFrame.safeParse({ type: "lines", fromSeq: 4, lines: [line(4), line(5)] }).success).toBe(true);
    expect(RunnerLogFrame.safeParse({ type: "lines", fromSeq: 4, lines: [line(4), line(6)] }).success).toBe(false);
    expect(RunnerLogFrame.safeParse({ type: "lines", fromSeq: 1, lines: [] }).success).toBe(false);
    expect(RunnerLogFrame.safeParse({ type: "lines", fromSeq: 1, lines: [{ ...line(1), step: "../x" }] }).success).toBe(false);
    // Each step a frame names is checked, not only the first line's.
    expect(RunnerLogFrame.safeParse({ type: "lines", fromSeq: 1, lines: [line(1), { ...line(2), step: "sparki:plan" }] }).success).toBe(true);
    const bad = RunnerLogFrame.safeParse({ type: "lines", fromSeq: 1, lines: [line(1), line(2), { ...line(3), step: "Not A Step" }] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join("."))).toEqual(["lines.2.step"]);
    expect(ServerLogFrame.safeParse({ type: "watch", watched: true }).success).toBe(true);
  });

  it("server frames are a closed union", () => {
    expect(ServerLogFrame.safeParse({ type: "resume", seq: 0 }).success).toBe(true);
    expect(ServerLogFrame.safeParse({ type: "cancel" }).success).toBe(true);
    expect(ServerLogFrame.safeParse({ type: "nack", seq: 1 }).success).toBe(false);
  });

  it("registration refuses unknown fields and bad labels", () => {
    const ok = { token: "t", name: "box-1", labels: ["linux", "arch=arm64"], version: "0.1.0" };
    expect(RegisterRequest.safeParse(ok).success).toBe(true);
    expect(RegisterRequest.safeParse({ ...ok, admin: true }).success).toBe(false);
    expect(RegisterRequest.safeParse({ ...ok, labels: ["Has Space"] }).success).toBe(false);
  });
});
