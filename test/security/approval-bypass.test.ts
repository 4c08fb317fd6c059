/**
 * A developer tries to ship to production without its approval, on the real local stack
 * (wrangler dev, Postgres, the queue, a real `sparki-runner` building real git branches). The
 * pipeline is read from the commit being built, so whoever pushes a branch writes its
 * sparki.yml: before stage rules lived on the server, a branch whose sparki.yml dropped
 * `approval` and widened `branches` to `*` deployed itself to production. Now the project's
 * rules (set by owners and admins) hold, and sparki.yml can only tighten them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitAll, E2E, oneStepYml, until, run } from "../e2e/support.js";

const e2e = new E2E();

const stage = (name: string, extra = "") => `  - stage: ${name}\n    platform: sparki-static\n${extra}`;
const build = oneStepYml("mkdir -p dist && echo '<h1>site</h1>' > dist/index.html", "dist");
/** What the default branch says: production without an approval of its own. */
const mainYml = `${build}deployments:\n${stage("staging")}${stage("production", "    approval: false\n")}`;
/** The attacker's branch: no approval anywhere, every branch allowed. */
const hostileYml = `${build}deployments:\n${stage("staging", '    branches: ["*", "**"]\n')}${stage("production", '    approval: false\n    branches: ["*", "**"]\n')}`;

async function as<T = any>(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${e2e.stack.apiUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** The push deployment a green build started by itself (build.completed → queue), once it is there. */
function pushDeployment(projectId: string, buildId: string): Promise<any> {
  return until(
    `the push deployment of build ${buildId}`,
    async () => (await e2e.api("GET", `/v1/projects/${projectId}/deployments`)).body.items.find((d: any) => d.buildId === buildId && d.trigger === "push"),
    60_000,
    { intervalMs: 250, diagnostics: () => e2e.diagnostics() },
  );
}

beforeAll(async () => {
  await e2e.start();
  await e2e.runner("approvals");
}, 180_000);

afterAll(() => e2e.close(), 60_000);

describe("a branch cannot lift a production approval", () => {
  it("a feature branch whose sparki.yml drops approval and widens branches never reaches production; the default branch still waits for an owner", {
    timeout: 300_000,
  }, async () => {
    const repo = await e2e.gitRepo("bypass", { "package.json": JSON.stringify({ name: "bypass", version: "1.0.0" }), "sparki.yml": mainYml });
    const project = await e2e.project("bypass", repo);
    const rules = `/v1/projects/${project.id}/stage-rules`;
    expect((await e2e.api("PUT", `${rules}/production`, { requireApproval: true, branches: ["main"], approverRoles: ["owner"] })).status).toBe(201);
    // Staging takes feature branches, so the feature build's push deployment shows the queue handled it.
    expect((await e2e.api("PUT", `${rules}/staging`, { requireApproval: false, branches: ["main", "feature/*"] })).status).toBe(201);

    const email = `dev-${crypto.randomUUID().slice(0, 8)}@sparki.test`;
    const developer = (await e2e.signup(email, "a developer's long password", "dev")).accessToken;
    expect((await e2e.api("POST", `/v1/workspaces/${e2e.workspaceId}/members`, { email, role: "developer" })).status).toBe(201);
    // The developer cannot loosen the rule through the API either.
    expect((await as(developer, "PUT", `${rules}/production`, { requireApproval: false, branches: ["**"] })).status).toBe(403);
    expect((await as(developer, "DELETE", `${rules}/production`)).status).toBe(403);

    await run("git", ["checkout", "--quiet", "-b", "feature/ship-it"], { cwd: repo });
    writeFileSync(join(repo, "sparki.yml"), hostileYml);
    await commitAll(repo);
    const featureBuild = (await as(developer, "POST", `/v1/projects/${project.id}/builds`, { branch: "feature/ship-it" })).body.id as string;
    expect((await e2e.waitForEnd(featureBuild)).status).toBe("succeeded");
    const feature = await pushDeployment(project.id, featureBuild);
    const shown = (await e2e.api("GET", `/v1/deployments/${feature.id}`)).body;
    expect(shown.stages.map((s: any) => s.name)).toEqual(["staging"]);

    // By hand: refused, naming the rule, whichever stage is asked for.
    for (const body of [{}, { stage: "production" }]) {
      const manual = await as(developer, "POST", `/v1/builds/${featureBuild}/deploy`, body);
      expect(manual.status, JSON.stringify(manual.body)).toBe(403);
      expect(manual.body.type).toBe("https://sparki.dev/problems/stage-rule");
      expect(manual.body.detail).toContain("the project's rule for stage production accepts main, not branch feature/ship-it");
    }
    const all = (await e2e.api("GET", `/v1/projects/${project.id}/deployments`)).body.items;
    expect(all.map((d: any) => d.id)).toEqual([feature.id]);

    // The default branch's sparki.yml says approval: false; the server's rule still gates production.
    await run("git", ["checkout", "--quiet", "main"], { cwd: repo });
    const mainBuild = await e2e.trigger(project.id, "main");
    expect((await e2e.waitForEnd(mainBuild)).status).toBe("succeeded");
    const release = (await pushDeployment(project.id, mainBuild)).id as string;
    const waiting = await until(
      "production to wait for approval",
      async () => {
        const d = (await e2e.api("GET", `/v1/deployments/${release}`)).body;
        return d.status === "awaiting_approval" ? d : ["succeeded", "failed", "cancelled", "rolled_back"].includes(d.status) ? { ended: d } : undefined;
      },
      90_000,
      { intervalMs: 250 },
    );
    expect(waiting.status, JSON.stringify(waiting)).toBe("awaiting_approval");
    expect(waiting.stages.map((s: any) => [s.name, s.status, s.approval])).toEqual([
      ["staging", "healthy", false],
      ["production", "waiting", true],
    ]);
    expect((await as(developer, "POST", `/v1/deployments/${release}/approve`)).status).toBe(403);
    const approved = await e2e.api("POST", `/v1/deployments/${release}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const me = (await e2e.api("GET", "/v1/me")).body.user;
    expect(approved.body.stages[1].approvedBy).toEqual({ id: me.id, email: me.email });
  });
});
