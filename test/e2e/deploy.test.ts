/**
 * Deployments end to end on the real local stack: a static site built by a real runner from a
 * git repository whose sparki.yml deploys to `sparki-static` staging (health-checked) and
 * production (behind an approval). The green build starts its deployment by itself
 * (build.completed → queue → orchestrator); it is approved and served. The next commit breaks the
 * health check: the orchestrator rolls staging back on its own, the previous version is served
 * again and the rollback counter moves. A canary's share is measured over 1,000 requests. A Fly
 * stage (test/fakes/fly.ts) whose status polls are rate-limited waits and deploys, never rolls back.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchSite } from "../../dev/sites-proxy.js";
import { siteUrl } from "../../server/sites/hosts.js";
import { FakeFly } from "../fakes/fly.js";
import { commitAll, E2E, oneStepYml, until, run } from "./support.js";

const e2e = new E2E();

const deployments = (canary: boolean) =>
  canary
    ? `deployments:
  - stage: production
    platform: sparki-static
    strategy: canary
    canarySteps: [10, 100]
    canaryPauseSeconds: 600
    healthCheck: { path: /health.txt, intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 2 }
`
    : `deployments:
  - stage: staging
    platform: sparki-static
    healthCheck: { path: /health.txt, intervalSeconds: 1, healthyThreshold: 2, unhealthyThreshold: 2 }
  - stage: production
    platform: sparki-static
    approval: true
    strategy: blue-green
    healthCheck: { path: /health.txt, intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 2 }
`;

/** The repository's files: a build that writes dist/ with the version, and health.txt unless `broken`. */
function site(version: string, opts: { broken?: boolean; canary?: boolean } = {}): Record<string, string> {
  const build = `mkdir -p dist && printf '<h1>${version}</h1>' > dist/index.html${opts.broken ? "" : " && echo ok > dist/health.txt"}`;
  return {
    "package.json": JSON.stringify({ name: "site", version: "1.0.0", private: true }),
    "sparki.yml": oneStepYml(build, "dist") + deployments(opts.canary ?? false),
  };
}

async function nextCommit(repo: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(repo, path), content);
  await commitAll(repo);
}

const served = async (projectId: string, stage: string) => {
  const res = await fetchSite(siteUrl(e2e.stack.sitesOrigin, { projectId, stage }) ?? "");
  return (await res.text()).match(/<h1>(\w+)<\/h1>/)?.[1] ?? `status ${res.status}`;
};

/** The deployment the build started by itself (push), once it is there. */
async function pushDeployment(projectId: string, buildId: string): Promise<string> {
  return until(
    `a deployment of build ${buildId}`,
    async () => (await e2e.api("GET", `/v1/projects/${projectId}/deployments`)).body.items.find((d: any) => d.buildId === buildId)?.id,
    60_000,
    { intervalMs: 250, diagnostics: () => e2e.diagnostics() },
  );
}

async function deploymentWhen(id: string, done: (d: any) => boolean, timeoutMs = 60_000): Promise<any> {
  let last: any;
  return until(
    `deployment ${id}`,
    async () => {
      last = (await e2e.api("GET", `/v1/deployments/${id}`)).body;
      return done(last) ? last : undefined;
    },
    timeoutMs,
    { intervalMs: 250, diagnostics: () => `deployment: ${JSON.stringify(last?.events?.map((e: any) => `${e.type}: ${e.message}`))}` },
  );
}

async function metric(name: string): Promise<number> {
  const res = await fetch(`${e2e.stack.apiUrl}/metrics`, { headers: { authorization: `Bearer ${e2e.stack.metricsToken}` } });
  return (await res.text())
    .split("\n")
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

beforeAll(async () => {
  // The Fly fake listens on loopback: an instance admin's override lets adapters call it.
  await e2e.start({ vars: { PLATFORM_API_OVERRIDES: "http://127.0.0.1:*" } });
  // The workspace's own runner: script stages run on nothing else.
  await e2e.runner("deployer", { pool: "workspace" });
}, 180_000);

afterAll(() => e2e.close(), 60_000);

describe("deploying a built static site", () => {
  it("reaches staging, waits for approval, reaches production; a broken next version is rolled back by itself", { timeout: 300_000 }, async () => {
    const repo = await e2e.gitRepo("site", site("first"));
    const project = await e2e.project("site", repo);
    const first = await e2e.trigger(project.id);
    expect((await e2e.waitForEnd(first)).status).toBe("succeeded");

    const release = await pushDeployment(project.id, first);
    let d = await deploymentWhen(release, (x) => x.status === "awaiting_approval");
    expect(d.trigger).toBe("push");
    expect(await served(project.id, "staging")).toBe("first");
    expect(await served(project.id, "production")).toBe("status 404");
    expect((await e2e.api("POST", `/v1/deployments/${release}/approve`)).status).toBe(200);
    d = await deploymentWhen(release, (x) => x.status === "succeeded");
    expect(await served(project.id, "production")).toBe("first");

    const rollbacks = await metric("sparki_deployment_rollback_total");
    await nextCommit(repo, site("second", { broken: true }));
    const second = await e2e.trigger(project.id);
    expect((await e2e.waitForEnd(second)).status).toBe("succeeded");
    const broken = await pushDeployment(project.id, second);
    d = await deploymentWhen(broken, (x) => x.status === "rolled_back");
    expect(d.reason).toMatch(/staging failed its health check.*404/);
    expect(await served(project.id, "staging")).toBe("first");
    expect(await served(project.id, "production")).toBe("first");
    await until("the rollback counter to move", async () => (await metric("sparki_deployment_rollback_total")) > rollbacks, 15_000);
  });

  it("a canary at 10% serves the new version to about one in ten of 1,000 new visitors", { timeout: 300_000 }, async () => {
    const repo = await e2e.gitRepo("canary", site("old", { canary: true }));
    const project = await e2e.project("canary", repo);
    const first = await e2e.trigger(project.id);
    expect((await e2e.waitForEnd(first)).status).toBe("succeeded");
    const old = await pushDeployment(project.id, first);
    await deploymentWhen(old, (x) => x.status === "succeeded");

    await nextCommit(repo, site("new", { canary: true }));
    const second = await e2e.trigger(project.id);
    expect((await e2e.waitForEnd(second)).status).toBe("succeeded");
    const canary = await pushDeployment(project.id, second);
    await deploymentWhen(canary, (x) => x.stages[0].trafficPercent === 10 && x.stages[0].passes >= 1);
    const visit = async () =>
      (await fetchSite(siteUrl(e2e.stack.sitesOrigin, { projectId: project.id, stage: "production" }) ?? "", { method: "HEAD" })).headers.get(
        "x-sparki-deployment",
      ) ?? "none";
    // Count once visitors see the canary's alias: the orchestrator's switch reaches the Worker's
    // alias memo at once (one isolate serves both under wrangler dev), so the first new visitor
    // landing on the canary shows the alias every later visit reads.
    await until("a new visitor to land on the canary", async () => (await visit()) === canary, 30_000);
    const counts: Record<string, number> = {};
    for (let batch = 0; batch < 50; batch++) {
      const ids = await Promise.all(Array.from({ length: 20 }, visit));
      for (const id of ids) counts[id] = (counts[id] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual([old, canary].sort());
    // 1,000 draws at p = 0.1: the standard deviation is about 9.5; 40 is over four of them.
    expect(Math.abs((counts[canary] ?? 0) - 100)).toBeLessThan(40);
    expect((await e2e.api("POST", `/v1/deployments/${canary}/rollback`, {})).status).toBe(200);
    await deploymentWhen(canary, (x) => x.status === "rolled_back");
  });

  it("a script stage runs its deploy script on a runner, is health-checked at its URL, and runs its rollback script when it turns unhealthy", {
    timeout: 300_000,
  }, async () => {
    let healthy = true;
    const app = createServer((req, res) => {
      res.writeHead(req.url === "/health" && healthy ? 200 : 503).end();
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    const port = (app.address() as AddressInfo).port;
    const marks = join(e2e.work, "script-marks");
    const yml = (version: string) =>
      oneStepYml(`echo building ${version}`) +
      `deployments:
  - stage: prod
    platform: script
    script: 'echo "$SPARKI_COMMIT_SHA $SPARKI_STAGE" >> ${marks}.deploys'
    rollbackScript: 'echo "$SPARKI_ROLLBACK_TO_COMMIT" >> ${marks}.rollbacks'
    healthCheck: { url: "http://127.0.0.1:${port}/health", intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 2 }
`;
    try {
      const repo = await e2e.gitRepo("scripted", { "package.json": JSON.stringify({ name: "scripted", version: "1.0.0" }), "sparki.yml": yml("one") });
      const commitOf = async () => (await run("git", ["rev-parse", "HEAD"], { cwd: repo })).stdout.trim();
      const firstCommit = await commitOf();
      const project = await e2e.project("scripted", repo);
      const first = await e2e.trigger(project.id);
      expect((await e2e.waitForEnd(first)).status).toBe("succeeded");
      const good = await pushDeployment(project.id, first);
      const done = await deploymentWhen(good, (x) => x.status === "succeeded" || x.status === "failed", 120_000);
      expect(done.status, JSON.stringify(done.events)).toBe("succeeded");
      expect(readFileSync(`${marks}.deploys`, "utf8")).toBe(`${firstCommit} prod\n`);
      // The script ran as a build of the project, whose log is there to read.
      const builds = (await e2e.api("GET", `/v1/projects/${project.id}/builds`)).body.items;
      expect(builds.length).toBe(2);

      healthy = false;
      await nextCommit(repo, { "sparki.yml": yml("two") });
      const second = await e2e.trigger(project.id);
      expect((await e2e.waitForEnd(second)).status).toBe("succeeded");
      const bad = await pushDeployment(project.id, second);
      const back = await deploymentWhen(bad, (x) => x.status === "rolled_back" || x.status === "failed", 120_000);
      expect(back.status, JSON.stringify(back.events)).toBe("rolled_back");
      // Reported by status class only: a check of an arbitrary URL is no probe of its status.
      expect(back.reason).toMatch(/health check.*answered 5xx, expected 200/);
      expect(back.events.map((e: { message: string }) => e.message).join("\n")).not.toMatch(/\b503\b/);
      expect(readFileSync(`${marks}.deploys`, "utf8").trim().split("\n")).toHaveLength(2);
      expect(readFileSync(`${marks}.rollbacks`, "utf8")).toBe(`${firstCommit}\n`);
    } finally {
      app.close();
    }
  });

  it("a platform answering 429 while a deployment is polled is asked again later: the stage deploys, nothing rolls back", { timeout: 300_000 }, async () => {
    const fly = new FakeFly("fly-token-for-the-e2e-test");
    await fly.start();
    try {
      fly.addApp("shop", "registry.fly.io/shop:old", 1);
      const yml =
        oneStepYml("echo building") +
        `deployments:
  - stage: prod
    platform: fly
    settings: { app: shop, image: "registry.fly.io/shop:{shortSha}", apiUrl: "${fly.url}" }
`;
      const repo = await e2e.gitRepo("fly-shop", { "package.json": JSON.stringify({ name: "shop", version: "1.0.0" }), "sparki.yml": yml });
      const project = await e2e.project("fly-shop", repo);
      expect((await e2e.api("PUT", `/v1/projects/${project.id}/secrets/FLY_API_TOKEN`, { value: "fly-token-for-the-e2e-test" })).status).toBe(201);
      // Validation and the deploy list the app's Machines and update them; only the status polls
      // ask for one Machine. The first six are rate-limited: more than the platform client
      // retries in one call, so the orchestrator itself meets the 429.
      fly.failNext(429, { times: 6, retryAfter: 1, on: "GET /v1/apps/shop/machines/" });
      const build = await e2e.trigger(project.id);
      expect((await e2e.waitForEnd(build)).status).toBe("succeeded");
      const release = await pushDeployment(project.id, build);
      const d = await deploymentWhen(release, (x) => ["succeeded", "failed", "rolled_back"].includes(x.status), 120_000);
      const events = d.events.map((e: { type: string; message: string }) => `${e.type}: ${e.message}`);
      expect(d.status, events.join("\n")).toBe("succeeded");
      expect(events.filter((e: string) => e.startsWith("deploy_waiting:"))).toEqual([
        expect.stringMatching(/^deploy_waiting: fly: .*rate limit exceeded.*; asking again in 1 s$/),
      ]);
      expect(events.join("\n")).not.toMatch(/deploy_failed|rollback/);
      const polls = fly.requests.filter((r) => r.method === "GET" && r.path.startsWith("/v1/apps/shop/machines/"));
      expect(polls.length).toBeGreaterThan(6);
      expect(fly.images("shop")[0]).toMatch(/^registry\.fly\.io\/shop:[0-9a-f]{7}$/);
    } finally {
      await fly.close();
    }
  });
});
