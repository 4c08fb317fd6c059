/**
 * A job token reaches only the artifacts of the jobs its job needs, in its own build. Tried as an
 * attacker holding one job's token would: another build's artifact by name (in the same
 * workspace, and in another), the other job's id in the path, a name that climbs into another
 * build's prefix, a job of the same build it does not need, and its own token once its lease is
 * gone. Hostile archives of a needed job are in needed-artifacts.test.ts.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../core/contracts/runner.ts";
import { call, signup, type TestUser } from "../../workers/testing/api.js";
import { lease } from "../../workers/testing/runner.js";
import { downloadNeeded, needsBuild, succeed, uploadThrough, type NeedsBuild } from "../../workers/testing/needs-build.js";

let owner: TestUser;
let victim: NeedsBuild;
let victimDeploy: Job;
const secret = new TextEncoder().encode("victim's build output");

beforeAll(async () => {
  owner = await signup("needs-victim");
  victim = await needsBuild(owner);
  const build = await victim.claim("build");
  expect((await uploadThrough(build, "dist", secret)).status).toBe(201);
  await succeed(build);
  victimDeploy = await victim.claim("deploy");
});

const list = (job: Job) => call("POST", `/v1/runner/jobs/${job.jobId}/needs/artifacts`, { token: job.jobToken, body: lease(job) });

/** A deploy job of a fresh build whose build job uploaded nothing. */
async function attackerDeploy(user: TestUser): Promise<Job> {
  const b = await needsBuild(user);
  await succeed(await b.claim("build"));
  return b.claim("deploy");
}

describe("needed artifacts across builds", () => {
  it("the victim's own deploy job gets it (the control)", async () => {
    const res = await downloadNeeded(victimDeploy, "dist");
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(secret);
  });

  it.each([
    ["another build of the same workspace", () => owner],
    ["a build of another workspace", () => signup("needs-attacker")],
  ])("refuses a job of %s: by name, by the victim job's id, by a climbing name", async (_what, who) => {
    const attacker = await attackerDeploy(await who());
    expect((await list(attacker)).body).toEqual({ items: [] });
    expect((await downloadNeeded(attacker, "dist")).status).toBe(404);
    // Its token is for its own job only.
    expect((await downloadNeeded(attacker, "dist", victimDeploy.jobId)).status).toBe(401);
    const climbing = `..%2F..%2F${victim.buildId}%2Fartifacts%2Fdist`;
    const res = await downloadNeeded(attacker, climbing);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("victim");
  });

  it("refuses a job of the same build that does not need the job that made it", async () => {
    const lint = await victim.claim("lint");
    expect((await list(lint)).body).toEqual({ items: [] });
    expect((await downloadNeeded(lint, "dist")).status).toBe(404);
  });

  it("refuses an artifact that names no job (stored before uploads recorded theirs)", async () => {
    await env.ARTIFACTS.put(`projects/${victim.projectId}/builds/${victim.buildId}/artifacts/legacy`, "old", { customMetadata: { kind: "file" } });
    expect((await downloadNeeded(victimDeploy, "legacy")).status).toBe(404);
    expect((await list(victimDeploy)).body.items.map((a: { name: string }) => a.name)).toEqual(["dist"]);
  });

  it("refuses the victim job's own token once its lease is gone", async () => {
    await succeed(victimDeploy);
    expect((await downloadNeeded(victimDeploy, "dist")).status).toBe(409);
    expect((await list(victimDeploy)).status).toBe(409);
  });
});
