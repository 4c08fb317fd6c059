/**
 * Outbound requests through real deployments (the DeploymentOrchestrator in workerd; the test
 * config is a development instance, ALLOW_LOCAL_OUTBOUND=true). A platform `apiUrl` off the
 * platform's documented host and a health-check URL at the metadata service or a private address
 * fail validation before anything deploys; a check that does run reports only pass or fail and the
 * status class, never the status, error text or timing an attacker could probe a network with.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";
import { builtSite, deploymentWhen, siteVersion } from "../../workers/testing/deploy.js";

let owner: TestUser;
let workspaceId: string;

beforeAll(async () => {
  owner = await signup("outbound");
  workspaceId = (await createWorkspace(owner)).id;
});

/** Deploys a fresh project's built site to `stages` and waits for the deployment to end. */
async function deployed(stages: unknown[]): Promise<{ status: string; messages: string }> {
  const projectId = (await createProject(owner, workspaceId)).id;
  const buildId = await builtSite(projectId, siteVersion("v"), stages);
  const res = await call("POST", `/v1/builds/${buildId}/deploy`, { token: owner.accessToken });
  expect(res.status, res.text).toBe(201);
  const d = await deploymentWhen(owner, res.body.id, (x) => ["failed", "rolled_back", "succeeded"].includes(x.status), 30_000);
  return { status: d.status, messages: d.events.map((e: { message: string }) => e.message).join("\n") };
}

const check = (url: string) => ({ url, intervalSeconds: 1, timeoutSeconds: 2, healthyThreshold: 1, unhealthyThreshold: 1 });

describe("outbound requests of deployments", () => {
  it("refuses a platform apiUrl off the documented host before deploying, naming the override", async () => {
    const d = await deployed([
      { stage: "prod", platform: "railway", settings: { serviceId: "s", environmentId: "e", apiUrl: "https://attacker.example/graphql/v2" } },
    ]);
    expect(d.status).toBe("failed");
    expect(d.messages).toContain(
      "stage prod: railway apiUrl https://attacker.example is not the platform's documented API (https://backboard.railway.com); an instance admin can allow it in PLATFORM_API_OVERRIDES",
    );
    expect(d.messages).not.toMatch(/deploy_started|accepted deployment/);
  });

  it.each([
    ["https://169.254.169.254/latest/meta-data/", "must name a host, not an IP address (metadata range)"],
    ["http://10.0.0.1:8080/", "must use https (http only to a loopback address in development)"],
    ["https://printer.local/status", "must name a public host (printer.local is internal)"],
    ["https://ops:hunter2@status.example.com/", "must not carry credentials"],
  ])("refuses the health-check URL %s before deploying", async (url, reason) => {
    const d = await deployed([{ stage: "prod", platform: "sparki-static", healthCheck: check(url) }]);
    expect(d.status).toBe("failed");
    expect(d.messages).toContain(reason);
    expect(d.messages).not.toContain("hunter2");
  });

  it("reports a check's answer by status class only: 4xx, not the 401 a local service gave", async () => {
    // The cache shim answers 401 to a request without its token.
    const d = await deployed([{ stage: "prod", platform: "sparki-static", healthCheck: check(`${env.UPSTASH_REDIS_REST_URL}/probe`) }]);
    expect(d.status).not.toBe("succeeded");
    expect(d.messages).toContain("GET /probe answered 4xx, expected 200");
    expect(d.messages).not.toMatch(/\b401\b|Unauthorized| ms\b/);
  });

  it("reports a closed port as unreachable, without the error's text", async () => {
    const d = await deployed([{ stage: "prod", platform: "sparki-static", healthCheck: check("http://127.0.0.1:9/health") }]);
    expect(d.status).not.toBe("succeeded");
    expect(d.messages).toContain("GET /health: unreachable");
    expect(d.messages).not.toMatch(/refused|ECONN|connect|network/i);
  });
});
