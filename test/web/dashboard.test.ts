/**
 * The dashboard end to end: the real local stack (wrangler dev serving the API and web/dist), a
 * real runner, and Chromium driven by playwright-core. A new user signs up, makes a workspace,
 * creates a project from a git repository on disk, runs a build, watches its log lines arrive
 * live and in order, and sees it succeed; the pages are also checked at 360 px wide and from the
 * keyboard. The deployment page is first driven with answers the test gives (the contract of
 * core/contracts/deployments.ts), then for real: a site deployed to sparki-static staging and
 * production twice, watched live, rolled back from the dashboard (version one served again), and a
 * third version behind an approval that the project's deployment rules panel set (its sparki.yml
 * asks for none), approved from the dashboard, which then names the approver. Each step is its own
 * test on the same page, in order.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fetchSite } from "../../dev/sites-proxy.js";
import { siteUrl } from "../../server/sites/hosts.js";
import { commitAll, E2E, oneStepYml, until } from "../e2e/support.js";
import { collectErrors, launch, shot } from "./browser.js";

const e2e = new E2E();
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let repo: string;
const TICKS = 40;

// Green and bold ticks, 75 ms apart: slow enough to watch them arrive, colours to check ANSI.
const ticksJs = `for (let i = 1; i <= ${TICKS}; i++) {
  console.log("\\u001b[1;32mtick " + i + "\\u001b[0m of ${TICKS}");
  await new Promise((r) => setTimeout(r, 75));
}
console.log("all ticks done");
`;

// The deployed site: a build that writes dist/ with the version and a health check file, deployed
// to sparki-static staging (health-checked) then production (behind an approval if asked).
let siteRepo: string;
let siteProjectId: string;
let deployErrors: string[] = [];
let lastDeployment: unknown;
/** The WebSockets the deployment steps' page opened, and how many messages each received. */
const sockets: { url: string; frames: number }[] = [];
function site(version: string, opts: { approval?: boolean } = {}): Record<string, string> {
  const build = `mkdir -p dist && printf '<h1>${version}</h1>' > dist/index.html && echo ok > dist/health.txt`;
  return {
    "package.json": JSON.stringify({ name: "site", version: "1.0.0", private: true }),
    "sparki.yml": `${oneStepYml(build, "dist")}deployments:
  - stage: staging
    platform: sparki-static
    healthCheck: { path: /health.txt, intervalSeconds: 1, healthyThreshold: 2, unhealthyThreshold: 2 }
  - stage: production
    platform: sparki-static${opts.approval ? "\n    approval: true" : ""}
    healthCheck: { path: /health.txt, intervalSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 2 }
`,
  };
}

async function nextCommit(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  await commitAll(dir);
}

/** What the stage serves: the version in its <h1>, or the status. */
async function served(stage: string): Promise<string> {
  const res = await fetchSite(siteUrl(e2e.stack.sitesOrigin, { projectId: siteProjectId, stage }) ?? "");
  return (await res.text()).match(/<h1>(\w+)<\/h1>/)?.[1] ?? `status ${res.status}`;
}

/** From the project's page: "Run a build", and wait on the build's page until it succeeds. */
async function buildInBrowser(): Promise<string> {
  await page.getByRole("button", { name: "Run a build" }).click();
  await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/);
  const buildId = page.url().split("/").pop() ?? "";
  let status: string | null = null;
  await until(
    "the build to end on the page",
    async () => /^(succeeded|failed|cancelled|timed out)$/.test((status = (await page.locator("#build-status").textContent()) ?? "")),
    150_000,
    {
      intervalMs: 250,
      diagnostics: () => `build ${buildId} shows ${status}\n${e2e.diagnostics()}`,
    },
  );
  expect(status).toBe("succeeded");
  return buildId;
}

/** GET /v1/deployments/:id with the browser's session. */
async function deployment(id: string): Promise<{ status: string; events: { type: string; message: string }[] }> {
  const res = await page.request.get(`/v1/deployments/${id}`);
  lastDeployment = await res.json();
  return lastDeployment as { status: string; events: { type: string; message: string }[] };
}

/** The deployment the green build started by itself. */
async function deploymentOf(buildId: string): Promise<string> {
  return until(
    `a deployment of build ${buildId}`,
    async () =>
      ((await (await page.request.get(`/v1/projects/${siteProjectId}/deployments`)).json()) as { items: { id: string; buildId: string }[] }).items.find(
        (d) => d.buildId === buildId,
      )?.id,
    60_000,
    { intervalMs: 250, diagnostics: () => e2e.diagnostics() },
  );
}

beforeAll(async () => {
  await e2e.start();
  await e2e.runner("web");
  repo = await e2e.gitRepo("web-ticks", {
    "package.json": JSON.stringify({ name: "ticks", version: "1.0.0", type: "module" }),
    "sparki.yml": oneStepYml("node ticks.mjs"),
    "ticks.mjs": ticksJs,
  });
  browser = await launch();
  context = await browser.newContext({ baseURL: e2e.stack.apiUrl, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  errors = collectErrors(page);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await e2e.close();
}, 60_000);

const email = `web-${Date.now()}@sparki.test`;

describe("the dashboard on the local stack", () => {
  it("serves the app for navigations and keeps the API's own answers", async () => {
    const res = await page.goto("/some/deep/link");
    expect(res?.status()).toBe(200);
    expect(await res?.text()).toContain('<div id="app">');
    const api = await fetch(`${e2e.stack.apiUrl}/v1/nope`, { headers: { "sec-fetch-mode": "navigate", accept: "text/html" } });
    expect(api.status).toBe(404);
    expect(api.headers.get("content-type")).toContain("application/problem+json");
    expect((await fetch(`${e2e.stack.apiUrl}/healthz`, { headers: { "sec-fetch-mode": "navigate" } })).headers.get("content-type")).toContain("json");
  });

  it("signs up, and a new user is asked for a workspace", async () => {
    await page.goto("/signup");
    await page.getByLabel("Name").fill("Web Tester");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("a long enough password");
    await shot(page, "01-signup");
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.waitForURL("**/workspaces/new");
    await page.getByLabel("Workspace name").fill("Web team");
    await page.getByRole("button", { name: "Create workspace" }).click();
    await page.waitForURL(/\/w\/[0-9a-f-]{36}\/projects$/);
    await expect.poll(() => page.getByRole("combobox", { name: "Workspace" }).inputValue()).toMatch(/[0-9a-f-]{36}/);
    expect(await page.locator("#ws-switch option").allTextContents()).toContain("Web team (owner)");
  });

  it("creates a project from a git repository", async () => {
    await page.getByLabel("Name", { exact: true }).fill("ticks");
    await page.getByLabel("Git URL").fill(repo);
    await shot(page, "02-new-project");
    await page.getByRole("button", { name: "Create project" }).click();
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    await page.getByRole("heading", { name: "ticks", level: 1 }).waitFor();
  });

  it("runs a build and shows its log lines live, in order, until it succeeds", async () => {
    await page.getByRole("button", { name: "Run a build" }).click();
    await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/);
    const buildId = page.url().split("/").pop() ?? "";

    // Sample what the viewer shows every 50 ms: the ticks on screen and the build's status.
    const samples: { ticks: number[]; status: string }[] = [];
    await until(
      "the build to succeed on the page",
      async () => {
        const sample = await page.evaluate(`(() => ({
          ticks: [...document.querySelectorAll(".log-rows .row .tx")].map((r) => /^tick (\\d+) of/.exec(r.textContent || "")).filter(Boolean).map((m) => Number(m[1])),
          status: document.querySelector("#build-status")?.textContent || "",
        }))()`);
        samples.push(sample as { ticks: number[]; status: string });
        return (sample as { status: string }).status === "succeeded";
      },
      150_000,
      { intervalMs: 50, diagnostics: () => `last sample: ${JSON.stringify(samples.at(-1))}\n${e2e.diagnostics()}` },
    );
    await shot(page, "03-build-succeeded");

    // Live: some samples caught the step half way, while the build was still running.
    const partial = samples.filter((s) => s.ticks.length > 0 && s.ticks.length < TICKS && s.status === "running");
    expect(partial.length, JSON.stringify(samples.map((s) => [s.status, s.ticks.length]))).toBeGreaterThan(0);
    // In order, every time: the rows on screen are consecutive ticks from 1, and never shrink.
    let seen = 0;
    for (const s of samples) {
      if (s.ticks.length === 0) continue;
      expect(s.ticks).toEqual(Array.from({ length: s.ticks.length }, (_, i) => i + 1));
      expect(s.ticks.length).toBeGreaterThanOrEqual(seen);
      seen = s.ticks.length;
    }
    expect(seen).toBe(TICKS);
    // ANSI: the ticks are green and bold.
    expect(await page.locator(".log-rows .tx span.fg2.b").first().textContent()).toMatch(/^tick \d+$/);
    // The API agrees with what the page showed.
    const build = await page.request.get(`/v1/builds/${buildId}`);
    expect(((await build.json()) as { status: string }).status).toBe("succeeded");
    expect(await page.getByRole("heading", { name: "Artifacts" }).isVisible()).toBe(true);
  });

  it("searches the log, links to a line, and jumps to a step", async () => {
    await page.getByLabel("Search the log").fill("tick 7 of");
    await page.getByRole("button", { name: "Next" }).click();
    await expect.poll(() => page.locator(".row.marked .tx").textContent()).toContain("tick 7 of");
    const line = await page.locator(".row.marked .ln").textContent();
    await page.locator(".row.marked .ln").click();
    expect(page.url()).toMatch(new RegExp(`#L${line}$`));
    await page.reload();
    await expect.poll(() => page.locator(".row.marked .ln").textContent(), { timeout: 10_000 }).toBe(line);
    const options = await page.locator("#log-step option").allTextContents();
    expect(options.some((o) => o.includes("›"))).toBe(true);
    await shot(page, "04-log-search-and-link");
  });

  it("fits a 360 px wide screen", async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    for (const [name, path] of [
      ["05-build-360", page.url()],
      ["06-projects-360", "/"],
    ] as const) {
      await page.goto(path);
      await page.locator("main h1").waitFor();
      await page.waitForTimeout(300);
      const overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth");
      expect(overflow, name).toBeLessThanOrEqual(0);
      await shot(page, name);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("is usable from the keyboard: a skip link, then the workspace switcher", async () => {
    await page.goto("/");
    await page.locator("main h1").waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement?.textContent")).toBe("Skip to content");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement?.id")).toBe("ws-switch");
  });

  it("shows a deployment's stages and health, and rolls it back (API answered per core/contracts/deployments.ts)", async () => {
    const id = crypto.randomUUID();
    const at = new Date().toISOString();
    const stage = (name: string, status: string, trafficPercent: number) => ({
      id: crypto.randomUUID(),
      name,
      platform: "sparki-static",
      strategy: "all-at-once",
      status,
      approval: false,
      approverRoles: ["owner", "admin"],
      approvedBy: null,
      approvedAt: null,
      trafficPercent,
      passes: 3,
      failures: 0,
      url: null,
      startedAt: at,
      completedAt: at,
    });
    const deployment = (status: string, stageStatus: string) => ({
      id,
      projectId: crypto.randomUUID(),
      buildId: crypto.randomUUID(),
      commitSha: "a".repeat(40),
      branch: "main",
      status,
      reason: null,
      trigger: "push",
      pullRequest: null,
      createdAt: at,
      completedAt: at,
      stages: [stage("staging", "healthy", 100), stage("production", stageStatus, 100)],
      events: [{ seq: 1, at, type: "succeeded", stage: null, message: "every stage is healthy" }],
    });
    const posted: string[] = [];
    await page.routeWebSocket(/\/v1\/deployments\/[^/]+\/events/, () => undefined);
    await page.route(`**/v1/deployments/${id}**`, (route) => {
      const req = route.request();
      if (req.method() === "POST") posted.push(new URL(req.url()).pathname);
      const body = req.method() === "POST" ? deployment("rolling_back", "rolled_back") : deployment("succeeded", "healthy");
      return route.fulfill({ contentType: "application/json", body: JSON.stringify(body) });
    });
    await page.goto(`/deployments/${id}`);
    await page.getByRole("heading", { name: "production" }).waitFor();
    expect(await page.locator("#deployment-status").textContent()).toBe("succeeded");
    expect(await page.getByRole("meter", { name: "traffic on the new version in production" }).getAttribute("aria-valuenow")).toBe("100");
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Roll back" }).click();
    await expect.poll(() => page.locator("#deployment-status").textContent()).toBe("rolling back");
    expect(posted).toEqual([`/v1/deployments/${id}/rollback`]);
    await shot(page, "07-deployment-rollback");
    await page.unrouteAll();
  });

  it("deploys a site twice, shows its stages and health live, and rolls the latest deployment back", { timeout: 300_000 }, async () => {
    // A page of its own: the step above stubbed the deployment socket on the first one for good.
    page = await context.newPage();
    deployErrors = collectErrors(page);
    page.on("websocket", (ws) => {
      const seen = { url: ws.url(), frames: 0 };
      sockets.push(seen);
      ws.on("framereceived", () => void seen.frames++);
    });

    siteRepo = await e2e.gitRepo("web-site", site("one"));
    await page.goto("/");
    await page.waitForURL(/\/w\/[0-9a-f-]{36}\/projects$/);
    await page.getByLabel("Name", { exact: true }).fill("site");
    await page.getByLabel("Git URL").fill(siteRepo);
    await page.getByRole("button", { name: "Create project" }).click();
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    siteProjectId = page.url().split("/").pop() ?? "";

    // Version one: built, then deployed by itself to staging and production.
    const first = await buildInBrowser();
    const one = await deploymentOf(first);
    await until("deployment one to succeed", async () => (await deployment(one)).status === "succeeded", 90_000, {
      intervalMs: 250,
      diagnostics: () => `${JSON.stringify(lastDeployment)}\n${e2e.diagnostics()}`,
    });
    expect(await served("production")).toBe("one");

    // Version two, watched on the dashboard: the project's deployments, then the newest one.
    await nextCommit(siteRepo, site("two"));
    await page.goto(`/projects/${siteProjectId}`);
    const second = await buildInBrowser();
    await page.getByRole("link", { name: "Project", exact: true }).click();
    await page.getByRole("link", { name: "Deployments", exact: true }).click();
    await page.waitForURL(`**/projects/${siteProjectId}/deployments`);
    await expect.poll(() => page.locator("main tbody tr").count(), { timeout: 30_000 }).toBe(2);
    const two = await deploymentOf(second);
    await shot(page, "08-deployments-list");
    await page.locator("main tbody tr").first().getByRole("link").click();
    await page.waitForURL(`**/deployments/${two}`);
    const statuses: string[] = [];
    await until(
      "deployment two to succeed on the page",
      async () => {
        const status =
          (await page
            .locator("#deployment-status")
            .textContent({ timeout: 1000 })
            .catch(() => null)) ?? "";
        if (statuses.at(-1) !== status) statuses.push(status);
        return status === "succeeded";
      },
      90_000,
      { intervalMs: 100, diagnostics: () => `statuses seen: ${JSON.stringify(statuses)}; last: ${JSON.stringify(lastDeployment)}` },
    );
    // The stages, each healthy with its passing checks and all of the traffic.
    for (const stage of ["staging", "production"]) {
      const card = page.locator(`[data-stage="${stage}"]`);
      expect(await card.locator("h2 .status").textContent()).toBe("healthy");
      expect(await card.locator(".health").textContent()).toMatch(/^health: [1-9]\d* passing, 0 failing/);
      expect(await page.getByRole("meter", { name: `traffic on the new version in ${stage}` }).getAttribute("aria-valuenow")).toBe("100");
    }
    expect(await served("production")).toBe("two");
    // Live: it arrived over the deployment's event socket (more than its first message when the
    // page saw it still moving).
    const socket = sockets.find((s) => s.url.endsWith(`/v1/deployments/${two}/events`));
    expect(socket, JSON.stringify(sockets)).toBeDefined();
    if (statuses.length > 1) expect(socket?.frames ?? 0, JSON.stringify(statuses)).toBeGreaterThan(1);
    await shot(page, "09-deployment-succeeded");

    // Roll back (after the confirm dialog): both stages go back, and production serves one again.
    let asked = "";
    page.once("dialog", (dialog) => ((asked = dialog.message()), void dialog.accept()));
    const framesBefore = socket?.frames ?? 0;
    await page.getByRole("button", { name: "Roll back" }).click();
    await expect.poll(() => page.locator("#deployment-status").textContent(), { timeout: 60_000 }).toBe("rolled back");
    // The rollback's answer says "rolling back"; the rest came live over the socket.
    expect(socket?.frames ?? 0).toBeGreaterThan(framesBefore);
    expect(asked).toMatch(/Roll back/);
    for (const stage of ["staging", "production"]) expect(await page.locator(`[data-stage="${stage}"] h2 .status`).textContent()).toBe("rolled back");
    expect(await page.getByRole("button", { name: "Roll back" }).count()).toBe(0);
    expect((await deployment(two)).status).toBe("rolled_back");
    await until("production to serve version one again", async () => (await served("production")) === "one", 15_000, { intervalMs: 250 });
    expect(await served("staging")).toBe("one");
    await shot(page, "10-deployment-rolled-back");
  });

  it("sets a production approval in the project's deployment rules", async () => {
    await page.goto(`/projects/${siteProjectId}`);
    const panel = page.locator("#stage-rules");
    await expect.poll(() => panel.locator("[data-stage-rule]").count(), { timeout: 10_000 }).toBe(2);
    expect(await panel.locator('[data-stage-rule="production"]').textContent()).toContain("default");
    await panel.locator('[data-stage-rule="production"]').getByRole("button", { name: "Edit" }).click();
    expect(await page.getByLabel("Branches").inputValue()).toBe("main");
    await page.getByLabel("Approval required").check();
    await page.locator('input[name="approver"][value="admin"]').uncheck();
    await page.getByRole("button", { name: "Save rule" }).click();
    await expect.poll(() => panel.locator('[data-stage-rule="production"]').textContent(), { timeout: 10_000 }).toMatch(/productionrequiredmainowner/);
    expect(await panel.locator('[data-stage-rule="production"]').textContent()).toContain("set");
    await shot(page, "11-stage-rules");
  });

  it("approves a stage that waits for the approval its rule asks for, and the deployment succeeds", { timeout: 300_000 }, async () => {
    // sparki.yml asks for no approval: the rule set above gates production all the same.
    await nextCommit(siteRepo, site("three"));
    await page.goto(`/projects/${siteProjectId}`);
    const third = await buildInBrowser();
    const three = await deploymentOf(third);
    await page.goto(`/projects/${siteProjectId}/deployments`);
    await expect.poll(() => page.locator("main tbody tr").count(), { timeout: 30_000 }).toBe(3);
    await page.locator("main tbody tr").first().getByRole("link").click();
    await page.waitForURL(`**/deployments/${three}`);
    await page.getByRole("button", { name: "Approve" }).waitFor({ timeout: 90_000 });
    expect(await page.locator("#deployment-status").textContent()).toBe("awaiting approval");
    expect(await page.locator('[data-stage="staging"] h2 .status').textContent()).toBe("healthy");
    expect(await page.locator('[data-stage="production"] h2 .status').textContent()).toBe("waiting");
    expect(await page.locator('[data-stage="production"] .approval').textContent()).toBe("needs approval by owner");
    expect(await served("staging")).toBe("three");
    expect(await served("production")).toBe("one");
    await shot(page, "12-deployment-awaiting-approval");

    const socket = sockets.find((s) => s.url.endsWith(`/v1/deployments/${three}/events`));
    const framesBefore = socket?.frames ?? 0;
    await page.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => page.locator("#deployment-status").textContent(), { timeout: 60_000 }).toBe("succeeded");
    // Approving answers "deploying"; production's deploy, health checks and success came live.
    expect((socket?.frames ?? 0) - framesBefore, JSON.stringify(sockets)).toBeGreaterThanOrEqual(3);
    expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(0);
    expect(await page.locator('[data-stage="production"] h2 .status').textContent()).toBe("healthy");
    expect(await page.locator(".events").textContent()).toContain("approved");
    expect(await page.locator('[data-stage="production"] .approval').textContent()).toContain(`approved by ${email}`);
    expect((await deployment(three)).status).toBe("succeeded");
    await until("production to serve version three", async () => (await served("production")) === "three", 15_000, { intervalMs: 250 });
    await shot(page, "13-deployment-approved");
    // Long stage URLs and event messages wrap on a phone.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.waitForTimeout(300);
    expect(await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")).toBeLessThanOrEqual(0);
    await shot(page, "14-deployment-360");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("logged no errors in the browser", () => {
    // A signed-out visitor's first GET /v1/me (and the refresh it tries) answer 401: Chromium
    // logs those; they are how the app learns it must show the login page.
    expect([...errors, ...deployErrors].filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
