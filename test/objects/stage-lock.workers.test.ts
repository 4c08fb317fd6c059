/**
 * Deployments of one stage take turns (StageLock) inside workerd, through the real API and
 * orchestrators: a newer deployment of a busy stage waits, a waiting one a newer one supersedes
 * is cancelled with the reason, and the waiting one deploys once the stage is free.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { DeploymentOrchestrator } from "../../durable-objects/deployment-orchestrator/object.js";
import { deploymentOrchestrator } from "../../server/objects/clients.js";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import { builtSite, deploymentWhen, siteVersion } from "../../workers/testing/deploy.js";

/** A stage that stays verifying: its check fails, but far from its (high) unhealthy threshold. */
const stuck = [{ stage: "staging", platform: "sparki-static", healthCheck: { path: "/missing.txt", intervalSeconds: 600, unhealthyThreshold: 100 } }];
const quick = [{ stage: "staging", platform: "sparki-static", healthCheck: { path: "/health.txt", intervalSeconds: 1, healthyThreshold: 1 } }];

let owner: TestUser;
let workspaceId: string;
beforeAll(async () => {
  owner = await signup("stage-lock");
  workspaceId = (await createWorkspace(owner)).id;
});

async function deploy(buildId: string): Promise<{ id: string }> {
  const res = await call("POST", `/v1/builds/${buildId}/deploy`, { token: owner.accessToken });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

const types = (d: { events: { type: string }[] }) => d.events.map((e) => e.type);

describe("deployments of one stage", () => {
  it("queue behind the running one; a newer one supersedes the waiting one; the last deploys once the stage is free", async () => {
    const project = await createProject(owner, workspaceId);
    const running = await deploy(await builtSite(project.id, siteVersion("one"), stuck));
    await deploymentWhen(owner, running.id, (d) => d.status === "verifying");

    const waiting = await deploy(await builtSite(project.id, siteVersion("two"), quick));
    const queued = await deploymentWhen(owner, waiting.id, (d) => types(d).includes("queued"));
    expect(queued.status).toBe("deploying");
    expect(queued.stages[0]).toMatchObject({ status: "deploying", startedAt: expect.any(String) });
    expect(queued.events.find((e: { type: string }) => e.type === "queued").message).toContain(running.id);

    const newest = await deploy(await builtSite(project.id, siteVersion("three"), quick));
    const superseded = await deploymentWhen(owner, waiting.id, (d) => d.status === "cancelled");
    expect(superseded.reason).toBe(`superseded by deployment ${newest.id} while waiting for stage staging`);
    expect(types(superseded)).not.toContain("deployed");
    await deploymentWhen(owner, newest.id, (d) => types(d).includes("queued"));
    // The first still holds the stage: the newest has not deployed.
    expect(types(await deploymentWhen(owner, newest.id, () => true))).not.toContain("deployed");

    const cancel = await call("POST", `/v1/deployments/${running.id}/cancel`, { token: owner.accessToken });
    expect(cancel.status, cancel.text).toBe(200);
    const done = await deploymentWhen(owner, newest.id, (d) => d.status === "succeeded");
    expect(types(done)).toEqual(expect.arrayContaining(["queued", "stage_turn", "deployed"]));
  });

  it("a waiting one woken while its step runs (the stage just freed) steps again at once, not a minute later", async () => {
    const project = await createProject(owner, workspaceId);
    const holder = await deploy(await builtSite(project.id, siteVersion("one"), stuck));
    await deploymentWhen(owner, holder.id, (d) => d.status === "verifying");
    const waiting = await deploy(await builtSite(project.id, siteVersion("two"), quick));
    await deploymentWhen(owner, waiting.id, (d) => types(d).includes("queued"));

    // The lock's wake-up arrives in the middle of a step that still finds the stage taken (as when
    // the holder lets go while the waiter asks): on the step's first write.
    const stub = deploymentOrchestrator(env, waiting.id) as unknown as DurableObjectStub<DeploymentOrchestrator>;
    const next = await runInDurableObject(stub, async (instance, state) => {
      // Steps run one at a time: this one waits out any step already running (whose writes must
      // not be taken for this one's), and leaves the next alarm a minute away (still queued).
      await instance.alarm();
      const storage = state.storage as unknown as { put: (...args: unknown[]) => Promise<void> };
      const put = storage.put.bind(storage);
      let woken = false;
      storage.put = async (...args: unknown[]) => {
        if (!woken) {
          woken = true;
          await instance.wake();
        }
        return put(...args);
      };
      try {
        await instance.alarm();
      } finally {
        storage.put = put;
      }
      expect(woken).toBe(true);
      return state.storage.getAlarm();
    });
    // Due now: without it the step's own alarm (asking the lock again in a minute) would have won.
    expect(next).not.toBeNull();
    expect(next as number).toBeLessThanOrEqual(Date.now());
    await call("POST", `/v1/deployments/${holder.id}/cancel`, { token: owner.accessToken });
  });

  it("of different projects, or different stages, do not wait for each other", async () => {
    const a = await createProject(owner, workspaceId);
    const b = await createProject(owner, workspaceId);
    const holder = await deploy(await builtSite(a.id, siteVersion("one"), stuck));
    await deploymentWhen(owner, holder.id, (d) => d.status === "verifying");
    const other = await deploy(await builtSite(b.id, siteVersion("two"), quick));
    const production = [{ ...quick[0], stage: "production" }];
    const otherStage = await deploy(await builtSite(a.id, siteVersion("three"), production));
    for (const d of [other, otherStage]) expect(types(await deploymentWhen(owner, d.id, (x) => x.status === "succeeded"))).not.toContain("queued");
    await call("POST", `/v1/deployments/${holder.id}/cancel`, { token: owner.accessToken });
  });
});
