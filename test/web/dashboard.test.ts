/**
 * The dashboard end to end: the real local stack (wrangler dev serving the API and web/dist), a
 * real runner, and Chromium driven by playwright-core. A new user signs up, makes a workspace,
 * creates a project from a git repository on disk, runs a build, watches its log lines arrive
 * live and in order, and sees it succeed; the pages are also checked at 360 px wide and from the
 * keyboard. The deployment page is driven with the API's answers given by the test (the contract
 * of core/contracts/deployments.ts) until real deployments run locally: the `it.todo` below is
 * where the real rollback goes. Each step is its own test on the same page, in order.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, oneStepYml, pollUntil } from "../e2e/support.js";
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

beforeAll(async () => {
  await e2e.start();
  await e2e.runner("web");
  repo = await e2e.gitRepo("web-ticks", { "package.json": JSON.stringify({ name: "ticks", version: "1.0.0", type: "module" }), "sparki.yml": oneStepYml("node ticks.mjs"), "ticks.mjs": ticksJs });
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
    await pollUntil(
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
    for (const [name, path] of [["05-build-360", page.url()], ["06-projects-360", "/"]] as const) {
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
    const stage = (name: string, status: string, trafficPercent: number) => ({ id: crypto.randomUUID(), name, platform: "sparki-static", strategy: "all-at-once", status, approval: false, trafficPercent, passes: 3, failures: 0, url: null, startedAt: at, completedAt: at });
    const deployment = (status: string, stageStatus: string) => ({
      id, projectId: crypto.randomUUID(), buildId: crypto.randomUUID(), commitSha: "a".repeat(40), branch: "main", status, reason: null, trigger: "push", createdAt: at, completedAt: at,
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

  // Deployments: once the orchestrator and its routes land, a project with a deploy stage gets a
  // deployment from the green build above; open /projects/:id/deployments, then the deployment,
  // and press "Roll back" (confirm dialog: page.once("dialog", (d) => d.accept())).
  it.todo("rolls back a deployment");

  it("logged no errors in the browser", () => {
    // A signed-out visitor's first GET /v1/me (and the refresh it tries) answer 401: Chromium
    // logs those; they are how the app learns it must show the login page.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
