/**
 * Superseded builds inside workerd, through the real push hook, API, coordinators and Postgres:
 * a newer push cancels the older build of another commit with a reason, API builds opt in only
 * through sparki.yml, the same commit never cancels, and quick pushes cancel exactly the older.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Pipeline } from "../../core/pipeline/index.ts";
import { buildCoordinator } from "../objects/clients.ts";
import { until } from "../../test/until.ts";
import { call, createProject, createWorkspace, type TestUser, signup } from "../../workers/testing/api.js";
import { createHook, push, shaOf } from "../../workers/testing/push-hook.js";
import { claimFor, lease, openRunnerLog, registerWorkspaceRunner } from "../../workers/testing/runner.js";

interface BuildBody {
  id: string;
  number: number;
  status: string;
  error: string | null;
  commitSha: string | null;
}

let owner: TestUser;
let workspaceId: string;
beforeAll(async () => {
  owner = await signup("supersede");
  workspaceId = (await createWorkspace(owner)).id;
});

const buildOf = async (id: string): Promise<BuildBody> => (await call("GET", `/v1/builds/${id}`, { token: owner.accessToken })).body;
const listed = async (projectId: string): Promise<BuildBody[]> =>
  (await call("GET", `/v1/projects/${projectId}/builds`, { token: owner.accessToken })).body.items;

/** Pushes `after` to `ref` through the project's push hook; returns the build it started. */
async function pushed(projectId: string, secret: string, after: string, ref = "refs/heads/main"): Promise<BuildBody> {
  const res = await push(projectId, secret, { ref, after });
  expect(res.status, res.text).toBe(202);
  return buildOf((res.body as { buildId: string }).buildId);
}

async function viaApi(projectId: string, commitSha: string | undefined, branch = "main"): Promise<BuildBody> {
  const res = await call("POST", `/v1/projects/${projectId}/builds`, { token: owner.accessToken, body: { branch, ...(commitSha ? { commitSha } : {}) } });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** Waits until the build's coordinator reports a status (the live view). */
const settles = (id: string, status: string) => until(`build ${id} ${status}`, async () => ((await buildOf(id)).status === status ? buildOf(id) : null));

/** Gives the project a pipeline version whose sparki.yml sets `pipeline.cancelSuperseded`. */
async function withSetting(projectId: string, runnerToken: string, cancelSuperseded: boolean): Promise<void> {
  const build = await viaApi(projectId, shaOf("9"), "setup");
  const plan = await claimFor(runnerToken, build.id, "plan");
  const pipeline: Pipeline = {
    version: 1,
    name: "app",
    triggers: { branches: ["*"], pullRequests: true, cancelSuperseded },
    env: {},
    stages: [{ name: "build", jobs: ["build"] }],
    jobs: [
      {
        ...{ id: "build", name: "build", stage: "build", app: ".", needs: [], runsOn: ["linux"], workingDirectory: ".", timeoutMinutes: 10 },
        ...{ env: {}, cache: null, steps: [{ name: "compile", run: "true" }], artifacts: [], branches: null, deploy: null },
      },
    ],
  };
  const up = await call("POST", `/v1/runner/jobs/${plan.jobId}/pipeline`, { token: plan.jobToken, body: { ...lease(plan), pipeline } });
  expect(up.status, up.text).toBe(204);
  await call("POST", `/v1/builds/${build.id}/cancel`, { token: owner.accessToken });
}

async function hooked(): Promise<{ projectId: string; secret: string }> {
  const project = await createProject(owner, workspaceId);
  return { projectId: project.id, secret: (await createHook(owner, project.id)).secret };
}

/** A project in a workspace of its own with its own runner, so claims meet only its jobs. */
async function alone(): Promise<{ projectId: string; secret: string; runnerToken: string }> {
  const ws = (await createWorkspace(owner, `Alone ${crypto.randomUUID().slice(0, 6)}`)).id;
  const project = await createProject(owner, ws);
  const { runnerToken } = await registerWorkspaceRunner(owner.accessToken, ws);
  return { projectId: project.id, secret: (await createHook(owner, project.id)).secret, runnerToken };
}

describe("a newer push supersedes the older build", () => {
  it("cancels the older build of another commit on the branch, with the reason in the API and its list", async () => {
    const { projectId, secret } = await hooked();
    const first = await pushed(projectId, secret, shaOf("a"));
    const second = await pushed(projectId, secret, shaOf("b"));
    const cancelled = await settles(first.id, "cancelled");
    expect(cancelled.error).toBe(`superseded by build #${second.number}`);
    expect((await buildOf(second.id)).status).toBe("queued");
    // Postgres learns it through the coordinator's outbox: the list (and so the CLI and dashboard) shows the reason.
    await until("the list shows the reason", async () => (await listed(projectId)).find((b) => b.id === first.id && b.error === cancelled.error));
  });

  it("tells a running build's runner to stop", async () => {
    const { projectId, secret, runnerToken } = await alone();
    const first = await pushed(projectId, secret, shaOf("c"));
    const plan = await claimFor(runnerToken, first.id, "plan");
    const log = await openRunnerLog(plan);
    await pushed(projectId, secret, shaOf("d"));
    await log.until((frames) => frames.some((f) => f.type === "cancel"));
    const beat = await call("POST", `/v1/runner/jobs/${plan.jobId}/heartbeat`, { token: plan.jobToken, body: lease(plan) });
    expect(beat.body.cancel).toBe(true);
    expect((await settles(first.id, "cancelled")).error).toMatch(/^superseded by build #\d+$/);
  });

  it("quick pushes cancel every older build and never the newest", async () => {
    const { projectId, secret } = await hooked();
    const started = await Promise.all(["1", "2", "3"].map((c) => pushed(projectId, secret, shaOf(c))));
    const newest = started.reduce((a, b) => (a.number > b.number ? a : b));
    for (const b of started.filter((s) => s.id !== newest.id)) expect((await settles(b.id, "cancelled")).error).toMatch(/^superseded by build #\d+$/);
    expect((await buildOf(newest.id)).status).toBe("queued");
  });

  it("a rebuild of the same commit or a push to another branch leaves it; the next new commit cancels it", async () => {
    const { projectId, secret } = await hooked();
    const first = await pushed(projectId, secret, shaOf("e"));
    await pushed(projectId, secret, shaOf("e")); // the same commit again: a rebuild
    await pushed(projectId, secret, shaOf("f"), "refs/heads/feature"); // another branch
    const third = await pushed(projectId, secret, shaOf("7"));
    // The newest push cancels the first; until then the first stood, so neither rebuild nor branch cancelled it.
    expect((await settles(first.id, "cancelled")).error).toBe(`superseded by build #${third.number}`);
    const feature = (await listed(projectId)).find((b) => b.commitSha === shaOf("f"));
    expect(feature?.status).toBe("queued");
  });

  it("a same-commit push cancels nothing", async () => {
    const { projectId, secret } = await hooked();
    const first = await pushed(projectId, secret, shaOf("5"));
    const again = await pushed(projectId, secret, shaOf("5"));
    // A later push of another branch settles the order: by then the rebuild had its chance.
    await pushed(projectId, secret, shaOf("6"), "refs/heads/other");
    expect((await buildOf(first.id)).status).toBe("queued");
    expect((await buildOf(again.id)).status).toBe("queued");
  });
});

describe("API builds and sparki.yml's pipeline.cancelSuperseded", () => {
  it("API triggers cancel nothing by default, and a push does not cancel a person's build", async () => {
    const { projectId, secret } = await hooked();
    const first = await viaApi(projectId, shaOf("a"));
    const second = await viaApi(projectId, shaOf("b"));
    await pushed(projectId, secret, shaOf("c"));
    expect((await buildOf(first.id)).status).toBe("queued");
    expect((await buildOf(second.id)).status).toBe("queued");
  });

  it("cancelSuperseded: true makes API triggers supersede", async () => {
    const { projectId, runnerToken } = await alone();
    await withSetting(projectId, runnerToken, true);
    const first = await viaApi(projectId, shaOf("a"));
    const second = await viaApi(projectId, shaOf("b"));
    expect((await settles(first.id, "cancelled")).error).toBe(`superseded by build #${second.number}`);
  });

  it("cancelSuperseded: false turns it off for pushes too", async () => {
    const { projectId, secret, runnerToken } = await alone();
    await withSetting(projectId, runnerToken, false);
    const first = await pushed(projectId, secret, shaOf("a"));
    const second = await pushed(projectId, secret, shaOf("b"));
    expect((await buildOf(first.id)).status).toBe("queued");
    expect((await buildOf(second.id)).status).toBe("queued");
  });

  it("a build with no named commit (the branch head) cancels nothing", async () => {
    const { projectId, runnerToken } = await alone();
    await withSetting(projectId, runnerToken, true);
    const first = await viaApi(projectId, shaOf("a"));
    await viaApi(projectId, undefined);
    expect((await buildOf(first.id)).status).toBe("queued");
  });
});

describe("a supersede that arrives before the build's start", () => {
  it("is remembered, and the start ends the build cancelled with the reason", async () => {
    const project = await createProject(owner, workspaceId);
    const id = crypto.randomUUID();
    const coordinator = buildCoordinator(env, id);
    await coordinator.supersede({ number: 7, commitSha: shaOf("b") });
    await coordinator.start({
      buildId: id,
      projectId: project.id,
      workspaceId,
      number: 6,
      framework: null,
      repo: { url: "https://github.com/acme/app.git", branch: "main", commitSha: shaOf("a") },
      pools: [`workspace:${workspaceId}`],
    });
    expect(await coordinator.view()).toMatchObject({ status: "cancelled", error: "superseded by build #7" });
  });

  it("is ignored when the build turns out to be of the same commit", async () => {
    const project = await createProject(owner, workspaceId);
    const id = crypto.randomUUID();
    const coordinator = buildCoordinator(env, id);
    await coordinator.supersede({ number: 7, commitSha: shaOf("a") });
    await coordinator.start({
      buildId: id,
      projectId: project.id,
      workspaceId,
      number: 6,
      framework: null,
      repo: { url: "https://github.com/acme/app.git", branch: "main", commitSha: shaOf("a") },
      pools: [`workspace:${workspaceId}`],
    });
    expect(await coordinator.view()).toMatchObject({ status: "queued", error: null });
  });
});
