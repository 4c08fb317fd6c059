/**
 * Sign in with GitHub in Chromium, end to end: the local stack serving the dashboard, the GitHub
 * fake as github.com. A new GitHub user clicks "Sign in with GitHub" on the login page, goes
 * through GitHub's authorize page and back, and lands signed in (HttpOnly session cookies only);
 * the account page shows the linked GitHub account, its unlink refused as the last way in. A
 * sign-in cancelled at GitHub is worded on the login page. A GitHub account whose verified email
 * has a password account links on /login/link with that password, and so does one linked from
 * the account page ("Link GitHub").
 *
 * The fake and the stack are both on 127.0.0.1 (other ports): the same site for cookies, so this
 * does not exercise the cross-site redirect back (the flow cookie is SameSite=Lax for that).
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeApp, FakeGitHub } from "../fakes/github.ts";
import { E2E } from "../e2e/support.js";
import { collectErrors, launch, shot } from "./browser.js";

const gh = new FakeGitHub();
const e2e = new E2E();
let app: FakeApp;
let browser: Browser;

async function freshPage(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ baseURL: e2e.stack.apiUrl, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  return { context, page, errors: collectErrors(page) };
}

beforeAll(async () => {
  await gh.start();
  app = gh.addApp({ slug: "sparki-web-login" });
  await e2e.start({
    vars: { GITHUB_CLIENT_ID: app.clientId, GITHUB_CLIENT_SECRET: app.clientSecret, GITHUB_API_URL: gh.apiUrl, GITHUB_WEB_URL: gh.webUrl },
  });
  app.callbackUrls.push(`${e2e.stack.apiUrl}/v1/auth/oauth/github/callback`);
  browser = await launch();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await e2e.close();
  await gh.close();
}, 60_000);

describe("Sign in with GitHub in the dashboard", () => {
  it("signs a new GitHub user in from the login page, and shows the linked account on the account page", async () => {
    const email = `web-oauth-${Date.now()}@example.com`;
    gh.addUser("web-octo", { name: "Web Octo", emails: [{ email, primary: true, verified: true, visibility: "public" }] });
    gh.browserUser = "web-octo";
    const { context, page, errors } = await freshPage();
    await page.goto("/login");
    await page.getByRole("link", { name: "Sign in with GitHub" }).click();
    // A new account has no workspace yet: the dashboard asks for one.
    await page.waitForURL(/\/workspaces\/new$/);
    // The login page's own /v1/me and refresh (401s, signed out) are behind us; nothing after may fail.
    errors.length = 0;
    await shot(page, "oauth-signed-in");
    const cookies = await context.cookies();
    const access = cookies.find((c) => c.name === "__Host-sparki_access");
    expect(access).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict" });
    expect(cookies.some((c) => c.name === "__Host-sparki_oauth")).toBe(false);
    expect(await page.evaluate("document.cookie")).toBe("");

    await page.goto("/account");
    const methods = page.locator(".card", { has: page.getByRole("heading", { name: "Sign-in methods" }) });
    await expect.poll(() => methods.textContent()).toContain("web-octo");
    expect(await methods.textContent()).toContain("no password");
    // No password to change.
    await expect.poll(() => page.getByRole("heading", { name: "Change password" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Unlink GitHub" }).isDisabled()).toBe(true);
    await shot(page, "oauth-account");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("words a sign-in cancelled at GitHub on the login page", async () => {
    gh.browserUser = "web-octo";
    gh.denyAuthorization = true;
    const { context, page } = await freshPage();
    await page.goto("/login");
    await page.getByRole("link", { name: "Sign in with GitHub" }).click();
    await page.waitForURL(/\/login\?oauth_error=denied$/);
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("cancelled");
    await shot(page, "oauth-login-denied");
    expect((await context.cookies()).some((c) => c.name === "__Host-sparki_access")).toBe(false);
    await context.close();
  });

  it("links a GitHub account to the password account with its verified email on /login/link, with that password", async () => {
    const email = `web-link-${Date.now()}@example.com`;
    const password = "the web linker's password";
    const account = await e2e.signup(email, password, "Web Linker");
    gh.addUser("web-linker", { emails: [{ email, primary: true, verified: true, visibility: null }] });
    gh.browserUser = "web-linker";
    const { context, page, errors } = await freshPage();
    await page.goto("/login");
    await page.getByRole("link", { name: "Sign in with GitHub" }).click();
    await page.waitForURL(/\/login\/link$/);
    await expect.poll(() => page.locator("form").textContent()).toContain(email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Link and sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("wrong");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Link and sign in" }).click();
    await page.waitForURL(/\/workspaces\/new$/);
    const me = (await (await page.request.get("/v1/me")).json()) as { user: { id: string } };
    expect(me.user.id).toBe(account.user.id);
    // The wrong password's 401 is the one console error the page may log.
    expect(errors.filter((e) => !/401/.test(e))).toEqual([]);
    await context.close();
  });

  it("links GitHub from the account page of a password account, after its password", async () => {
    const email = `web-account-link-${Date.now()}@example.com`;
    const password = "the account linker's password";
    await e2e.signup(email, password, "Account Linker");
    // GitHub's address is another one: linking from the account page goes by the session and the password.
    gh.addUser("web-account-linker", { emails: [{ email: `elsewhere-${Date.now()}@example.com`, primary: true, verified: true, visibility: null }] });
    gh.browserUser = "web-account-linker";
    const { context, page, errors } = await freshPage();
    await page.goto("/login");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(/\/workspaces\/new$/);
    errors.length = 0;
    await page.goto("/account");
    await page.getByRole("button", { name: "Link GitHub", exact: true }).click();
    await page.waitForURL(/\/login\/link$/);
    await expect.poll(() => page.locator("form").textContent()).toContain("web-account-linker");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Link and sign in" }).click();
    await page.waitForURL(/\/workspaces\/new$/);
    await page.goto("/account");
    const methods = page.locator(".card", { has: page.getByRole("heading", { name: "Sign-in methods" }) });
    await expect.poll(() => methods.textContent()).toContain("web-account-linker");
    // With a password, the one linked account may go.
    expect(await page.getByRole("button", { name: "Unlink GitHub" }).isDisabled()).toBe(false);
    expect(await page.getByRole("button", { name: "Link GitHub", exact: true }).count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});
