/**
 * The status reporter against the GitLab fake over real HTTP: a build's life as GitLab's
 * statuses, repeated and late events, GitLab refusing or failing, and nothing ever thrown.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessLevel, FakeGitLab, type FakeProject } from "../../../test/fakes/gitlab.ts";
import { MAX_ATTEMPTS } from "../../deploy/retry.ts";
import type { GitLabTransport } from "./http.ts";
import { commitStateOf, reportCommitStatus, STATUS_NAME, type StatusReport } from "./status-reporter.ts";

let gl: FakeGitLab;
let shop: FakeProject;
let token: string;

const transport = (): GitLabTransport => ({ baseUrl: gl.url, sleep: async () => undefined });
const report = (sha: string, buildStatus: string, over: Partial<StatusReport> = {}): StatusReport => ({
  gitlabProjectId: shop.id,
  accessToken: token,
  sha,
  ref: "main",
  buildStatus,
  buildNumber: 7,
  targetUrl: "https://sparki.example/builds/b1",
  ...over,
});
const shown = (sha: string) => gl.statusesOf(shop, sha).filter((s) => s.name === STATUS_NAME);

beforeAll(async () => {
  gl = new FakeGitLab();
  await gl.start();
  shop = await gl.addProject({ path: "acme/shop" });
  token = gl.addProjectToken(shop, { scopes: ["api", "read_repository"], level: AccessLevel.developer });
});

afterAll(async () => {
  await gl.close();
});

describe("reporting a build as a GitLab commit status", () => {
  it("maps every build status", () => {
    expect(["queued", "running", "succeeded", "failed", "timed_out", "cancelled", "bogus"].map(commitStateOf)).toEqual([
      "pending",
      "running",
      "success",
      "failed",
      "failed",
      "canceled",
      null,
    ]);
  });

  it("takes a commit from pending through running to success, named sparki and linking to the build", async () => {
    const sha = await gl.commit(shop, "main", { "a.txt": "1" });
    for (const status of ["queued", "running", "succeeded"])
      expect(await reportCommitStatus(report(sha, status), transport())).toMatchObject({ ok: true, already: false });
    expect(shown(sha)).toMatchObject([
      { status: "success", ref: "main", target_url: "https://sparki.example/builds/b1", description: "Sparki build #7 succeeded" },
    ]);
    // One status record went through all three states.
    expect(gl.statusesOf(shop, sha, true)).toHaveLength(1);
  });

  it("reads GitLab's refusal of a repeated pending or running as already set", async () => {
    const sha = await gl.commit(shop, "main", { "b.txt": "1" });
    expect(await reportCommitStatus(report(sha, "queued"), transport())).toMatchObject({ ok: true, already: false });
    expect(await reportCommitStatus(report(sha, "queued"), transport())).toMatchObject({ ok: true, state: "pending", already: true });
    expect(await reportCommitStatus(report(sha, "running"), transport())).toMatchObject({ ok: true, already: false });
    expect(await reportCommitStatus(report(sha, "running"), transport())).toMatchObject({ ok: true, state: "running", already: true });
    expect(shown(sha)).toMatchObject([{ status: "running" }]);
  });

  it("reports failures and cancellations as GitLab's failed and canceled", async () => {
    const failed = await gl.commit(shop, "main", { "c.txt": "1" });
    const cancelled = await gl.commit(shop, "main", { "d.txt": "1" });
    await reportCommitStatus(report(failed, "timed_out"), transport());
    await reportCommitStatus(report(cancelled, "cancelled", { targetUrl: null, buildNumber: null }), transport());
    expect(shown(failed)).toMatchObject([{ status: "failed", description: "Sparki build timed out" }]);
    expect(shown(cancelled)).toMatchObject([{ status: "canceled", target_url: null, description: "Sparki build cancelled" }]);
  });

  it("retries GitLab's lock conflict and outages, and never throws when GitLab stays down", async () => {
    const sha = await gl.commit(shop, "main", { "e.txt": "1" });
    gl.failNext(409, { on: "POST" });
    expect(await reportCommitStatus(report(sha, "succeeded"), transport())).toMatchObject({ ok: true });
    // Every attempt the retry policy makes meets the outage, and no more.
    gl.failNext(503, { times: MAX_ATTEMPTS, on: "POST" });
    const down = await reportCommitStatus(report(sha, "failed"), transport());
    expect(down).toMatchObject({ ok: false, reason: "gitlab", status: 503, retryable: true });
  });

  it("reports a revoked or underprivileged token and an unknown commit as not done, without throwing", async () => {
    const sha = await gl.commit(shop, "main", { "f.txt": "1" });
    const reporter = gl.addProjectToken(shop, { scopes: ["api"], level: AccessLevel.reporter });
    expect(await reportCommitStatus(report(sha, "running", { accessToken: reporter }), transport())).toMatchObject({
      ok: false,
      status: 403,
      retryable: false,
    });
    const revoked = gl.addProjectToken(shop, { scopes: ["api"] });
    gl.revoke(revoked);
    expect(await reportCommitStatus(report(sha, "running", { accessToken: revoked }), transport())).toMatchObject({ ok: false, status: 401 });
    expect(await reportCommitStatus(report("f".repeat(40), "running"), transport())).toMatchObject({ ok: false, status: 404 });
    const unreachable = await reportCommitStatus(report(sha, "running"), { baseUrl: "http://127.0.0.1:9", sleep: async () => undefined });
    expect(unreachable).toMatchObject({ ok: false, status: 0, retryable: true });
    expect(shown(sha)).toEqual([]);
  });
});
