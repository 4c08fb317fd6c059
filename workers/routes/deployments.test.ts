import { env, SELF } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { auditLogs, deploymentEvents, deployments, releases } from "../../server/db/schema.js";
import { addMember, call, createProject, createWorkspace, expectProblem, signup, type TestUser } from "../testing/api.js";
import { siteUrl } from "../../server/sites/hosts.js";
import { builtSite, deploymentWhen, siteVersion, withDb } from "../testing/deploy.js";
import { until } from "../../test/until.ts";

const health = { path: "/health.txt", intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 2 };
const stagingThenProduction = [
  { stage: "staging", platform: "sparki-static", healthCheck: health },
  { stage: "production", platform: "sparki-static", strategy: "blue-green", approval: true, healthCheck: health },
];

let owner: TestUser;
let workspaceId: string;
let projectId: string;

/** A stage's address on the sites origin. */
const siteAt = (project: string, stage: string) => siteUrl(env.SITES_ORIGIN, { projectId: project, stage }) ?? "";
const site = (stage: string, path = "", cookie?: string) => SELF.fetch(`${siteAt(projectId, stage)}${path}`, { headers: cookie ? { cookie } : {} });
const versionOf = async (res: Response) => (await res.text()).match(/<h1>(\w+)<\/h1>/)?.[1] ?? `status ${res.status}`;

async function deploy(buildId: string, user = owner, body?: unknown) {
  const res = await call("POST", `/v1/builds/${buildId}/deploy`, { token: user.accessToken, ...(body ? { body } : {}) });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; status: string };
}

/** Polls (10 s at most) until the stage serves `version`. */
async function serves(stage: string, version: string): Promise<void> {
  let seen = "";
  await until(`${stage} to serve ${version}`, async () => (seen = await versionOf(await site(stage))) === version, 10_000, {
    diagnostics: () => `${stage} serves ${seen}`,
  });
}

/**
 * Runs `visit` with the clock moved past the isolate memo's 2 s (server/cache/isolate-memo.ts),
 * so no alias remembered before now can answer: only Date is faked, and the Worker and objects
 * run in this isolate. What waited 2 s for the memo to expire now moves the clock instead.
 */
async function pastAliasMemo<T>(visit: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ["Date"] });
  try {
    vi.setSystemTime(Date.now() + 2_001);
    return await visit();
  } finally {
    vi.useRealTimers();
  }
}

async function metric(name: string): Promise<number> {
  const res = await SELF.fetch("http://sparki.test/metrics", { headers: { authorization: `Bearer ${env.METRICS_TOKEN}` } });
  const text = await res.text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

beforeAll(async () => {
  owner = await signup("deployer");
  workspaceId = (await createWorkspace(owner)).id;
  projectId = (await createProject(owner, workspaceId)).id;
});

describe("deployments to sparki-static", () => {
  it("deploys to staging, waits for approval, switches production blue-green, then rolls back by itself when a health check fails", {
    timeout: 90_000,
  }, async () => {
    const first = await deploy(await builtSite(projectId, siteVersion("one"), stagingThenProduction));
    let d = await deploymentWhen(owner, first.id, (x) => x.status === "awaiting_approval");
    expect(d.stages.map((s: any) => [s.name, s.status])).toEqual([
      ["staging", "healthy"],
      ["production", "waiting"],
    ]);
    await serves("staging", "one");
    expect((await site("production")).status).toBe(404);

    const series = (stage: string) => `{platform="sparki-static",stage="${stage}"}`;
    const successBefore = await metric(`sparki_deployment_success_total${series("production")}`);
    const durationsBefore = await metric(`sparki_deployment_duration_seconds_count${series("staging")}`);
    const approved = await call("POST", `/v1/deployments/${first.id}/approve`, { token: owner.accessToken });
    expect(approved.status, approved.text).toBe(200);
    d = await deploymentWhen(owner, first.id, (x) => x.status === "succeeded");
    // Deployment metrics are by stage and platform, one sample per stage, never by project.
    await expect.poll(() => metric(`sparki_deployment_success_total${series("production")}`), { timeout: 5000 }).toBe(successBefore + 1);
    expect(await metric(`sparki_deployment_duration_seconds_count${series("staging")}`)).toBe(durationsBefore + 1);
    await serves("production", "one");
    const types = d.events.map((e: any) => e.type);
    for (const t of ["created", "validated", "deploy_started", "deployed", "traffic", "health", "approved", "succeeded"]) expect(types).toContain(t);
    expect(d.stages.every((s: any) => s.status === "healthy" && s.trafficPercent === 100)).toBe(true);

    // The next version lacks its health file: staging turns unhealthy and goes back to "one".
    const rollbacksBefore = await metric("sparki_deployment_rollback_total");
    const broken = await deploy(await builtSite(projectId, siteVersion("two", {}), stagingThenProduction));
    d = await deploymentWhen(owner, broken.id, (x) => x.status === "rolled_back");
    expect(d.reason).toMatch(/stage staging failed its health check: GET .*health.txt answered 404, expected 200/);
    expect(d.stages.map((s: any) => s.status)).toEqual(["rolled_back", "skipped"]);
    await serves("staging", "one");
    await serves("production", "one");
    await expect.poll(() => metric("sparki_deployment_rollback_total"), { timeout: 5000 }).toBeGreaterThan(rollbacksBefore);

    // Postgres learns it all: release status, stage rows, the event history, the automatic rollback's audit row.
    await expect
      .poll(() => withDb(async (db) => (await db.select().from(releases).where(eq(releases.id, broken.id)))[0]?.status), { timeout: 5000 })
      .toBe("rolled_back");
    await withDb(async (db) => {
      const stages = await db.select().from(deployments).where(eq(deployments.releaseId, first.id));
      expect(stages.map((s) => [s.stage, s.status, s.platformDeploymentId])).toEqual(
        expect.arrayContaining([
          ["staging", "healthy", first.id],
          ["production", "healthy", first.id],
        ]),
      );
      const events = await db.select().from(deploymentEvents).where(eq(deploymentEvents.releaseId, first.id));
      expect(events.length).toBe(d.events.length > 0 ? events.length : -1);
      expect(events.map((e) => e.type)).toContain("approved");
      const audits = await db.select().from(auditLogs).where(eq(auditLogs.resourceId, broken.id));
      expect(audits.map((a) => [a.action, (a.details as { automatic?: boolean }).automatic])).toContainEqual(["deployment.rollback", true]);
    });

    // A hand rollback of the live deployment puts back what it replaced: nothing, for the first one.
    const refused = await call("POST", `/v1/deployments/${first.id}/rollback`, { token: owner.accessToken });
    expectProblem(refused, 409, "conflict");
  });

  it("a deployment whose validation fails never touches the target, and reports every problem", async () => {
    const project = (await createProject(owner, workspaceId)).id;
    const buildId = await builtSite(
      project,
      siteVersion("x"),
      [
        { stage: "production", platform: "sparki-static" },
        { stage: "edge", platform: "vercel", settings: { projectName: "site" } },
      ],
      { artifact: false },
    );
    const d = await deploymentWhen(owner, (await deploy(buildId)).id, (x) => x.status === "failed");
    expect(d.reason).toContain("stage production: artifact dist is not in storage");
    expect(d.reason).toContain("stage edge: missing credential VERCEL_TOKEN");
    expect(d.stages.map((s: any) => s.status)).toEqual(["skipped", "skipped"]);
    expect((await env.ARTIFACTS.list({ prefix: `projects/${project}/deployments/` })).objects).toEqual([]);
    expect((await SELF.fetch(`${siteAt(project, "production")}`)).status).toBe(404);
  });

  it("a hand rollback puts back each stage's previous version; toDeploymentId names an older one", { timeout: 90_000 }, async () => {
    const project = (await createProject(owner, workspaceId)).id;
    const stages = [{ stage: "web", platform: "sparki-static", healthCheck: health }];
    const ids: string[] = [];
    for (const v of ["a", "b", "c"]) {
      const d = await deploy(await builtSite(project, siteVersion(v), stages));
      await deploymentWhen(owner, d.id, (x) => x.status === "succeeded");
      ids.push(d.id);
    }
    const serving = async () => versionOf(await SELF.fetch(`${siteAt(project, "web")}`));
    await expect.poll(serving, { timeout: 5000 }).toBe("c");
    const manualBefore = await metric('sparki_deployment_rollback_total{reason="manual"}');
    const back = await call("POST", `/v1/deployments/${ids[2]}/rollback`, { token: owner.accessToken, body: { toDeploymentId: ids[0] } });
    expect(back.status, back.text).toBe(200);
    const d = await deploymentWhen(owner, ids[2] ?? "", (x) => x.status === "rolled_back");
    expect(d.reason).toContain("rolled back by hand");
    await expect.poll(serving, { timeout: 5000 }).toBe("a");
    // A succeeded deployment rolled back later still counts as a (manual) rollback.
    await expect.poll(() => metric('sparki_deployment_rollback_total{reason="manual"}'), { timeout: 10_000 }).toBeGreaterThan(manualBefore);
    const other = await call("POST", `/v1/deployments/${ids[1]}/rollback`, { token: owner.accessToken, body: { toDeploymentId: crypto.randomUUID() } });
    expectProblem(other, 400, "validation");
  });

  // 1,000 requests through wrangler dev: test/e2e/deploy.test.ts. Here, 200 through workerd.
  it("a canary sends its share of new visitors to the new version, and a cancel puts it back", { timeout: 120_000 }, async () => {
    const project = (await createProject(owner, workspaceId)).id;
    const base = await deploy(await builtSite(project, siteVersion("old"), [{ stage: "prod", platform: "sparki-static", healthCheck: health }]));
    await deploymentWhen(owner, base.id, (x) => x.status === "succeeded");
    const canary = [{ stage: "prod", platform: "sparki-static", strategy: "canary", canarySteps: [20, 100], canaryPauseSeconds: 600, healthCheck: health }];
    const d = await deploy(await builtSite(project, siteVersion("new"), canary));
    await deploymentWhen(owner, d.id, (x) => x.stages[0].trafficPercent === 20 && x.stages[0].passes >= 1);
    // New visitors (no cookie); HEAD is enough, the deployment is named in a header.
    const counts: Record<string, number> = {};
    await pastAliasMemo(async () => {
      for (let batch = 0; batch < 10; batch++) {
        const served = await Promise.all(
          Array.from(
            { length: 20 },
            async () => (await SELF.fetch(`${siteAt(project, "prod")}`, { method: "HEAD" })).headers.get("x-sparki-deployment") ?? "none",
          ),
        );
        for (const id of served) counts[id] = (counts[id] ?? 0) + 1;
      }
    });
    expect(Object.keys(counts).sort()).toEqual([base.id, d.id].sort());
    // 200 draws at p = 0.2: the standard deviation is about 5.7; 25 is over four of them.
    expect(Math.abs((counts[d.id] ?? 0) - 40)).toBeLessThan(25);

    const cancelled = await call("POST", `/v1/deployments/${d.id}/cancel`, { token: owner.accessToken });
    expect(cancelled.status, cancelled.text).toBe(200);
    await deploymentWhen(owner, d.id, (x) => x.status === "cancelled" || x.status === "rolled_back");
    const after = await pastAliasMemo(() => Promise.all(Array.from({ length: 50 }, async () => versionOf(await SELF.fetch(`${siteAt(project, "prod")}`)))));
    expect(new Set(after)).toEqual(new Set(["old"]));
  });

  it("blue-green never serves a mix: every page and its assets come from one version, and the switch happens once", { timeout: 90_000 }, async () => {
    const project = (await createProject(owner, workspaceId)).id;
    const stages = [{ stage: "live", platform: "sparki-static", strategy: "blue-green", healthCheck: { ...health, healthyThreshold: 2 } }];
    await deploymentWhen(owner, (await deploy(await builtSite(project, siteVersion("blue"), stages))).id, (x) => x.status === "succeeded");
    const green = await deploy(await builtSite(project, siteVersion("green"), stages));
    const seen: string[] = [];
    let finished = false;
    const watching = (async () => {
      while (!finished) {
        // A visitor: the page, then the asset it names, with the cookie the page set.
        const page = await SELF.fetch(`${siteAt(project, "live")}`);
        const cookie = page.headers.get("set-cookie")?.split(";")[0] ?? "";
        const html = await page.text();
        const version = html.match(/<h1>(\w+)<\/h1>/)?.[1] ?? "none";
        const asset = html.match(/src="([^"]+)"/)?.[1] ?? "";
        const js = await (await SELF.fetch(`${siteAt(project, "live")}${asset}`, { headers: { cookie } })).text();
        expect(js).toBe(`console.log("${version}")`);
        seen.push(version);
      }
    })();
    await deploymentWhen(owner, green.id, (x) => x.status === "succeeded");
    // Visitors keep coming once every remembered alias has run out: none may see blue again.
    await pastAliasMemo(async () => {
      const before = seen.length;
      await Promise.race([until("ten more visitors", () => seen.length >= before + 10, 30_000), watching]);
    });
    finished = true;
    await watching;
    expect(seen.at(-1)).toBe("green");
    // Once a visitor saw green, nobody saw blue again (one switch, no flapping).
    expect(seen.slice(seen.indexOf("green")).every((v) => v === "green")).toBe(true);
    expect(new Set(seen)).toEqual(new Set(["blue", "green"]));
  });

  it("labels stages by their conventional names (short forms folded in) and any other name other", { timeout: 60_000 }, async () => {
    const project = (await createProject(owner, workspaceId)).id;
    const series = (stage: string) => `sparki_deployment_success_total{platform="sparki-static",stage="${stage}"}`;
    const otherBefore = await metric(series("other"));
    const productionBefore = await metric(series("production"));
    const stages = [
      { stage: "eu-canary-7", platform: "sparki-static", healthCheck: health },
      { stage: "prod", platform: "sparki-static", healthCheck: health },
    ];
    const d = await deploy(await builtSite(project, siteVersion("labels"), stages));
    await deploymentWhen(owner, d.id, (x) => x.status === "succeeded");
    await expect.poll(() => metric(series("other")), { timeout: 5000 }).toBe(otherBefore + 1);
    expect(await metric(series("production"))).toBe(productionBefore + 1);
    // A project's own stage names never become label values.
    expect(await metric('sparki_deployment_success_total{platform="sparki-static",stage="eu-canary-7"}')).toBe(0);
    expect(await metric('sparki_deployment_duration_seconds_count{platform="sparki-static",stage="prod"}')).toBe(0);
  });

  it("streams the deployment's events over a WebSocket", { timeout: 60_000 }, async () => {
    const project = (await createProject(owner, workspaceId)).id;
    const d = await deploy(await builtSite(project, siteVersion("ws"), [{ stage: "gate", platform: "sparki-static", approval: true, healthCheck: health }]));
    await deploymentWhen(owner, d.id, (x) => x.status === "awaiting_approval");
    const res = await SELF.fetch(`http://sparki.test/v1/deployments/${d.id}/events`, {
      headers: { upgrade: "websocket", authorization: `Bearer ${owner.accessToken}` },
    });
    expect(res.status).toBe(101);
    const ws = res.webSocket;
    if (!ws) throw new Error("no socket");
    const messages: any[] = [];
    ws.addEventListener("message", (e) => messages.push(JSON.parse(String(e.data))));
    ws.accept();
    await call("POST", `/v1/deployments/${d.id}/approve`, { token: owner.accessToken });
    await expect.poll(() => messages.some((m) => m.deployment.status === "succeeded"), { timeout: 10_000 }).toBe(true);
    expect(messages[0].deployment.status).toBe("awaiting_approval");
    // The approver is kept by id; the frames show them by their email (server/objects/deployment-orchestrator/people.ts).
    expect(messages.find((m) => m.event.type === "approved")?.event.message).toBe(`approved by ${owner.email}`);
    expect(messages.at(-1).deployment.stages[0].approvedBy).toEqual({ id: owner.id, email: owner.email });
    const seqs = messages.map((m) => m.event.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    ws.close();
  });
});

describe("deployment access", () => {
  it("another workspace cannot see or act on a deployment; a developer deploys but cannot approve; a viewer cannot deploy", { timeout: 60_000 }, async () => {
    const project = (await createProject(owner, workspaceId)).id;
    const buildId = await builtSite(project, siteVersion("p"), [{ stage: "gate", platform: "sparki-static", approval: true }]);
    const d = await deploy(buildId);
    const stranger = await signup("stranger");
    await createWorkspace(stranger);
    expectProblem(await call("GET", `/v1/deployments/${d.id}`, { token: stranger.accessToken }), 404, "not_found");
    expectProblem(await call("GET", `/v1/projects/${project}/deployments`, { token: stranger.accessToken }), 404, "not_found");
    expectProblem(await call("POST", `/v1/deployments/${d.id}/approve`, { token: stranger.accessToken }), 404, "not_found");
    expectProblem(await call("POST", `/v1/builds/${buildId}/deploy`, { token: stranger.accessToken }), 404, "not_found");

    const developer = await signup("dev");
    const viewer = await signup("viewer");
    await addMember(owner, workspaceId, developer, "developer");
    await addMember(owner, workspaceId, viewer, "viewer");
    await deploymentWhen(owner, d.id, (x) => x.status === "awaiting_approval");
    expectProblem(await call("POST", `/v1/deployments/${d.id}/approve`, { token: developer.accessToken }), 403, "forbidden");
    expectProblem(await call("POST", `/v1/builds/${buildId}/deploy`, { token: viewer.accessToken }), 403, "forbidden");
    const second = await deploy(buildId, developer);
    expect(second.status).toBe("pending");
    const list = await call("GET", `/v1/projects/${project}/deployments?limit=1`, { token: viewer.accessToken });
    expect(list.status, list.text).toBe(200);
    expect(list.body.items.map((i: any) => i.id)).toEqual([second.id]);
    const next = await call("GET", `/v1/projects/${project}/deployments?limit=1&cursor=${list.body.nextCursor}`, { token: viewer.accessToken });
    expect(next.body.items.map((i: any) => i.id)).toEqual([d.id]);
    expect((await call("POST", `/v1/deployments/${d.id}/cancel`, { token: developer.accessToken })).status).toBe(200);
  });

  it("refuses bad input: an unknown stage, a build that did not succeed, a second approval", async () => {
    const project = (await createProject(owner, workspaceId)).id;
    const buildId = await builtSite(project, siteVersion("q"), [{ stage: "prod", platform: "sparki-static" }]);
    const unknown = await call("POST", `/v1/builds/${buildId}/deploy`, { token: owner.accessToken, body: { stage: "nope" } });
    expectProblem(unknown, 400, "validation");
    expect(unknown.body.detail).toContain("(it has prod)");
    expectProblem(await call("POST", `/v1/builds/${buildId}/deploy`, { token: owner.accessToken, body: { stage: "prod", extra: 1 } }), 400, "validation");
    await withDb((db) => db.execute(`update builds set status = 'failed' where id = '${buildId}'`));
    expectProblem(await call("POST", `/v1/builds/${buildId}/deploy`, { token: owner.accessToken }), 409, "conflict");
    expectProblem(await call("GET", `/v1/deployments/${crypto.randomUUID()}`, { token: owner.accessToken }), 404, "not_found");
  });
});
