/**
 * The project page's Notifications panel in Chromium, on the local stack with the Slack fake and
 * a webhook receiver: a webhook channel added from the form shows its signing key once (the
 * receiver verifies a test delivery with it) and its URL by host only; a Slack channel's test
 * reaches the fake and the delivery log shows it delivered; turning a channel off and removing it.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, until } from "../e2e/support.js";
import { FakeSlack } from "../fakes/slack.js";
import { verifySignature, WebhookReceiver } from "../fakes/webhook-receiver.js";
import { collectErrors, launch, shot } from "./browser.js";

const e2e = new E2E();
const slack = new FakeSlack();
const receiver = new WebhookReceiver();
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let projectId: string;

beforeAll(async () => {
  await Promise.all([e2e.start(), slack.start(), receiver.start()]);
  const email = `web-notify-${Date.now()}@example.com`;
  await e2e.signup(email, "a long enough password", "Notifier");
  // The dashboard user owns the workspace and the project.
  const login = await fetch(`${e2e.stack.apiUrl}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "a long enough password" }),
  });
  e2e.token = ((await login.json()) as { accessToken: string }).accessToken;
  e2e.workspaceId = (await e2e.api("POST", "/v1/workspaces", { name: "Notify" })).body.id;
  projectId = (await e2e.project("notified", "https://example.com/notified.git")).id;
  browser = await launch();
  context = await browser.newContext({ baseURL: e2e.stack.apiUrl, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  errors = collectErrors(page);
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/w\//);
  // The login page's own /v1/me and refresh (401s while signed out) are behind us; nothing after may fail.
  errors.length = 0;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await e2e.close();
  await Promise.all([slack.close(), receiver.close()]);
}, 60_000);

const panel = () => page.locator("#notifications");

describe("the Notifications panel", () => {
  it("adds a webhook channel, shows its signing key once and its URL by host only", async () => {
    await page.goto(`/projects/${projectId}`);
    await panel().getByLabel("Kind").selectOption("webhook");
    await panel().getByLabel("URL").fill(`${receiver.url}/secret-path?token=hidden`);
    await panel().getByLabel("Name").fill("ci-bot");
    await panel().getByRole("button", { name: "Add channel" }).click();
    const key = (await panel().locator("[data-signing-key] code").first().textContent()) ?? "";
    expect(key).toMatch(/^snk_/);
    const row = panel().locator('tr[data-channel="ci-bot"]');
    await expect.poll(() => row.textContent()).toContain(receiver.url);
    expect(await panel().textContent()).not.toContain("secret-path");
    await shot(page, "notifications-added");

    await row.getByRole("button", { name: "Test" }).click();
    await until("the signed test delivery", () => receiver.received.length > 0, 30_000);
    const got = receiver.received[0];
    expect(got?.headers["x-sparki-event"]).toBe("ping");
    expect(verifySignature(key, got?.body ?? "", got?.headers["x-sparki-signature-256"] as string)).toBe(true);

    // The key is not shown again once the page is loaded afresh.
    await page.reload();
    await expect.poll(() => panel().locator('tr[data-channel="ci-bot"]').count()).toBe(1);
    expect(await panel().locator("[data-signing-key]").count()).toBe(0);
  });

  it("tests a Slack channel and shows the delivery in its log; turns it off and removes it", async () => {
    await panel().getByLabel("URL").fill(slack.addWebhook("#builds"));
    await panel().getByLabel("Name").fill("#builds");
    await panel().getByRole("button", { name: "Add channel" }).click();
    const row = panel().locator('tr[data-channel="#builds"]');
    await row.getByRole("button", { name: "Test" }).click();
    await until("Slack's test message", () => slack.messages.length > 0, 30_000);
    expect(slack.messages[0]?.text).toBe("notified: test notification from Sparki");
    await row.getByRole("button", { name: "Deliveries" }).click();
    const log = panel().getByRole("region", { name: "Delivery log" });
    await expect.poll(() => log.locator('tr[data-delivery="delivered"]').count(), { timeout: 15_000 }).toBe(1);
    expect(await log.textContent()).toContain("200");
    await shot(page, "notifications-log");

    await row.getByRole("button", { name: "Turn off" }).click();
    await expect.poll(() => row.textContent()).toContain("(off)");
    page.once("dialog", (d) => void d.accept());
    await row.getByRole("button", { name: "Remove" }).click();
    await expect.poll(() => panel().locator('tr[data-channel="#builds"]').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
