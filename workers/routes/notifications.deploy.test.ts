/**
 * Notifications from real deployments (the DeploymentOrchestrator in workerd, its
 * `deployment.changed` through the real queue): a stage waiting for approval and an automatic
 * rollback each become one delivery, attempted against a real HTTP answer (the cache shim's 401).
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, expect, it } from "vitest";
import { notificationDeliveries } from "../../server/db/schema.js";
import { until } from "../../test/until.js";
import { call, createProject, createWorkspace, signup, type TestUser } from "../testing/api.js";
import { builtSite, deploymentWhen, siteVersion, withDb } from "../testing/deploy.js";

let owner: TestUser;
let projectId: string;
let channelId: string;

const health = { path: "/health.txt", intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 2 };
const stages = [
  { stage: "staging", platform: "sparki-static", healthCheck: health },
  { stage: "production", platform: "sparki-static", approval: true, healthCheck: health },
];

beforeAll(async () => {
  owner = await signup("notify-deploy");
  projectId = (await createProject(owner, (await createWorkspace(owner)).id)).id;
  const res = await call("POST", `/v1/projects/${projectId}/notifications`, {
    token: owner.accessToken,
    body: { kind: "webhook", url: `${env.UPSTASH_REDIS_REST_URL}/hook`, events: ["approval.waiting", "deployment.rolled_back"] },
  });
  expect(res.status, res.text).toBe(201);
  channelId = res.body.id;
});

async function deploy(buildId: string): Promise<string> {
  const res = await call("POST", `/v1/builds/${buildId}/deploy`, { token: owner.accessToken });
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

/**
 * The channel's deliveries once `count` of them have an outcome, newest first. An attempt is
 * claimed (attempts + 1) before it is sent and its outcome written after, so a row with attempts
 * but still pending is in flight; the webhook's 401 is final, so every row ends failed.
 */
const attempted = (count: number) =>
  until(
    `${count} attempted deliveries`,
    async () => {
      const rows = await withDb((db) => db.select().from(notificationDeliveries).where(eq(notificationDeliveries.channelId, channelId)));
      return (
        rows.length === count &&
        rows.every((r) => r.attempts > 0 && r.status !== "pending") &&
        rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      );
    },
    20_000,
  );

it("tells the channel a stage waits for approval, once, and that a broken version was rolled back", async () => {
  const first = await deploy(await builtSite(projectId, siteVersion("one"), stages));
  await deploymentWhen(owner, first, (d) => d.status === "awaiting_approval");
  const [waiting] = await attempted(1);
  expect(waiting).toMatchObject({ event: "approval.waiting", occurrence: `approval.waiting:${first}:production`, responseStatus: 401, status: "failed" });
  expect(waiting?.payload).toMatchObject({ event: "approval.waiting", deployment: { id: first, status: "awaiting_approval", stages: ["production"] } });

  expect((await call("POST", `/v1/deployments/${first}/approve`, { token: owner.accessToken })).status).toBe(200);
  await deploymentWhen(owner, first, (d) => d.status === "succeeded");

  // The next version lacks its health file: staging turns unhealthy and is rolled back.
  const broken = await deploy(await builtSite(projectId, siteVersion("two", {}), stages));
  await deploymentWhen(owner, broken, (d) => d.status === "rolled_back", 30_000);
  const [rolledBack, ...rest] = await attempted(2);
  expect(rest.map((r) => r.event)).toEqual(["approval.waiting"]);
  expect(rolledBack).toMatchObject({ event: "deployment.rolled_back", occurrence: `deployment.rolled_back:${broken}` });
  expect(rolledBack?.payload).toMatchObject({
    deployment: { id: broken, status: "rolled_back", stages: ["staging"], reason: expect.stringContaining("health check") },
    // The test instance has no PUBLIC_URL, so no dashboard page to link.
    url: null,
  });
}, 60_000);
