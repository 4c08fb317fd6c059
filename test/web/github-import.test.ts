/**
 * "Import from GitHub" on the dashboard's projects page, in Chromium, on the local stack with the
 * GitHub fake as GitHub (the App's vars pointing at it). An owner follows the page's install link
 * (GitHub's install page is where the signed state shows), the installation is made on the fake
 * and GitHub's setup redirect links it; the page then offers the installation's repositories, and
 * importing acme/shop lands on the new project with GitHub's clone URL and default branch. A
 * second import of the same repository is refused with the API's words on the page. A viewer gets
 * no import form (the API refuses them `project:create`); a developer may import, as the API lets them.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeApp, FakeGitHub } from "../fakes/github.ts";
import { githubAppVars } from "../fakes/github-app-link.ts";
import { E2E } from "../e2e/support.js";
import { collectErrors, launch, shot } from "./browser.js";

const gh = new FakeGitHub();
const e2e = new E2E();
const password = "a long enough password";
const stamp = Date.now();
const owner = `web-import-owner-${stamp}@example.com`;
const viewer = `web-import-viewer-${stamp}@example.com`;
const developer = `web-import-dev-${stamp}@example.com`;
let app: FakeApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];

/** A fresh browser context signed in from the login page as `email`. */
async function signIn(email: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ baseURL: e2e.stack.apiUrl, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/w\//);
  // The login page's own /v1/me and refresh (401s while signed out) are behind us.
  errors.length = 0;
  return { context, page, errors };
}

const importForm = (p: Page) => p.locator("form", { has: p.getByRole("heading", { name: "Import from GitHub" }) });

beforeAll(async () => {
  await gh.start();
  app = gh.addApp({ slug: "sparki-web-import" });
  await e2e.start({
    vars: githubAppVars(gh, app, `whsec-${crypto.randomUUID()}`),
  });
  // Not "main": the project's branch must visibly come from GitHub, not from the form's default.
  gh.addRepo("acme/shop", { defaultBranch: "trunk" });
  gh.addRepo("acme/other");
  await Promise.all([e2e.signup(owner, password, "Importer"), e2e.signup(viewer, password, "Viewer"), e2e.signup(developer, password, "Developer")]);
  const login = await fetch(`${e2e.stack.apiUrl}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: owner, password }),
  });
  e2e.token = ((await login.json()) as { accessToken: string }).accessToken;
  e2e.workspaceId = (await e2e.api("POST", "/v1/workspaces", { name: "Import" })).body.id;
  for (const [email, role] of [
    [viewer, "viewer"],
    [developer, "developer"],
  ] as const) {
    const added = await e2e.api("POST", `/v1/workspaces/${e2e.workspaceId}/members`, { email, role });
    if (added.status !== 201) throw new Error(`adding ${role} answered ${added.status}: ${JSON.stringify(added.body)}`);
  }
  browser = await launch();
  ({ context, page, errors } = await signIn(owner));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await e2e.close();
  await gh.close();
}, 60_000);

describe("Import from GitHub on the projects page", () => {
  it("links an installation through the page's install link and GitHub's setup redirect", async () => {
    await page.goto(`/w/${e2e.workspaceId}/projects`);
    // Nothing linked yet: the form says so and links to the app's install page.
    await expect.poll(() => importForm(page).textContent()).toContain("No GitHub installation is linked");
    await importForm(page).getByRole("link", { name: "Install the GitHub App" }).click();
    const installPage = `${gh.webUrl}/apps/sparki-web-import/installations/new?state=`;
    await page.waitForURL((u) => u.toString().startsWith(installPage));
    const state = new URL(page.url()).searchParams.get("state") ?? "";
    expect(state).not.toBe("");

    // The user installs the app on acme; GitHub sends the browser back to the setup URL.
    const inst = gh.install(app, "acme");
    await page.goto(`/v1/integrations/github/setup?installation_id=${inst.id}&setup_action=install&state=${encodeURIComponent(state)}`);
    await page.waitForURL(new RegExp(`/w/${e2e.workspaceId}/projects\\?github=linked$`));
    const options = importForm(page).locator("#gh-repos option");
    await expect.poll(() => options.count(), { timeout: 15_000 }).toBe(2);
    expect(await Promise.all((await options.all()).map((o) => o.getAttribute("value")))).toEqual(["acme/other", "acme/shop"]);
    await shot(page, "github-import-linked");
    // GitHub's install page (the fake's 404) logged its own error; nothing after may fail.
    errors.length = 0;
  });

  it("imports acme/shop and lands on the project with GitHub's clone URL and default branch", async () => {
    await importForm(page).getByLabel("Repository").fill("acme/shop");
    await importForm(page).getByRole("button", { name: "Import from GitHub" }).click();
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("shop");
    await expect.poll(() => page.locator("main").textContent()).toContain(`${gh.webUrl}/acme/shop.git`);
    expect(await page.getByLabel("Branch", { exact: true }).getAttribute("placeholder")).toBe("trunk");
    const id = new URL(page.url()).pathname.split("/").pop();
    expect((await e2e.api("GET", `/v1/projects/${id}`)).body).toMatchObject({ name: "shop", gitUrl: `${gh.webUrl}/acme/shop.git`, defaultBranch: "trunk" });
    await shot(page, "github-import-project");
    expect(errors).toEqual([]);
  });

  it("refuses a second import of the same repository with a readable message", async () => {
    await page.goto(`/w/${e2e.workspaceId}/projects`);
    await expect.poll(() => importForm(page).locator("#gh-repos option").count(), { timeout: 15_000 }).toBe(2);
    await importForm(page).getByLabel("Repository").fill("acme/shop");
    await importForm(page).getByRole("button", { name: "Import from GitHub" }).click();
    const alert = importForm(page).getByRole("alert");
    await expect.poll(() => alert.textContent()).toContain("A project named 'shop' already exists in this workspace.");
    expect(page.url()).toMatch(new RegExp(`/w/${e2e.workspaceId}/projects$`));
    // The one project, and the page still whole.
    expect(await page.locator("ul.cards > li").count()).toBe(1);
    expect(await page.locator("ul.cards > li").textContent()).toContain("branch trunk");
    await shot(page, "github-import-refused");
    // The 409 is the one console error the page may log.
    expect(errors.filter((e) => !/409/.test(e))).toEqual([]);
    await context.close();
  });

  it("gives a viewer no import form, and the API refuses them", async () => {
    const v = await signIn(viewer);
    await v.page.goto(`/w/${e2e.workspaceId}/projects`);
    await expect.poll(() => v.page.locator("ul.cards > li").count()).toBe(1);
    expect(await v.page.getByRole("heading", { name: "Import from GitHub" }).count()).toBe(0);
    expect(await v.page.getByRole("heading", { name: "New project" }).count()).toBe(0);
    expect(await v.page.getByLabel("Repository").count()).toBe(0);
    await shot(v.page, "github-import-viewer");
    // What the hidden form would have sent, from the page (its origin, the viewer's session cookies).
    const refused = await v.page.evaluate(async (path) => {
      const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ repository: "acme/other" }) });
      return res.status;
    }, `/v1/workspaces/${e2e.workspaceId}/projects/github`);
    expect(refused).toBe(403);
    // The refused fetch's 403 is the one console error the page may log.
    expect(v.errors.filter((e) => !/403/.test(e))).toEqual([]);
    await v.context.close();
  });

  it("lets a developer import, as the API does", async () => {
    const d = await signIn(developer);
    await d.page.goto(`/w/${e2e.workspaceId}/projects`);
    await expect.poll(() => importForm(d.page).locator("#gh-repos option").count(), { timeout: 15_000 }).toBe(2);
    await importForm(d.page).getByLabel("Repository").fill("acme/other");
    await importForm(d.page).getByRole("button", { name: "Import from GitHub" }).click();
    await d.page.waitForURL(/\/projects\/[0-9a-f-]{36}$/);
    await expect.poll(() => d.page.getByRole("heading", { level: 1 }).textContent()).toBe("other");
    expect(d.errors).toEqual([]);
    await d.context.close();
  });
});
