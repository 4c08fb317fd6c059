/**
 * Delivery attempts against real HTTP (the Slack fake, a webhook receiver) with the real schema
 * in PGlite: Slack's `ok` and its documented refusals, a webhook signed so its receiver can check
 * it, the same delivery id on every attempt, 429/5xx tried again (Retry-After honoured) and other
 * 4xx not, an attempt claimed once, and giving up after the last attempt.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOTIFY_MAX_ATTEMPTS } from "../../core/notifications/retry.ts";
import { addChannel, addDelivery, type NotificationDb, notificationDb, SECRETS_KEY } from "../../test/notification-db.ts";
import { FakeSlack } from "../../test/fakes/slack.ts";
import { verifySignature, WebhookReceiver } from "../../test/fakes/webhook-receiver.ts";
import { notificationDeliveries } from "../db/schema.js";
import { type DeliverDeps, deliverAttempt, STALE_ATTEMPT_SECONDS } from "./deliver.ts";

const slack = new FakeSlack();
const receiver = new WebhookReceiver();
let t: NotificationDb;
let deps: DeliverDeps;

beforeAll(async () => {
  t = await notificationDb();
  deps = { db: t.db, config: { SECRETS_KEY, ALLOW_LOCAL_OUTBOUND: true } };
  await Promise.all([slack.start(), receiver.start()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([slack.close(), receiver.close()]);
  await t.pg.close();
});

const row = async (id: string) => (await t.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.id, id)))[0];

describe("Slack", () => {
  it("posts {text, blocks} that Slack takes, and logs the delivery", async () => {
    const { id } = await addChannel(t, "slack", slack.addWebhook("#builds"));
    const delivery = await addDelivery(t, id);
    expect(await deliverAttempt(deps, delivery, 1)).toEqual({ status: "delivered", responseStatus: 200 });
    expect(slack.messages.at(-1)).toMatchObject({ channel: "#builds", text: "shop: build #3 of main failed", contentType: "application/json" });
    expect(await row(delivery)).toMatchObject({ status: "delivered", attempts: 1, responseStatus: 200, error: null, deliveredAt: expect.any(Date) });
  });

  it.each([
    ["channel_not_found", 404],
    ["archived", 410],
    ["prohibited", 403],
    ["revoked", 404],
  ] as const)("does not retry a webhook whose channel is %s (%i)", async (state, status) => {
    const { id } = await addChannel(t, "slack", slack.addWebhook("#gone", state));
    const delivery = await addDelivery(t, id);
    const result = await deliverAttempt(deps, delivery, 1);
    expect(result).toMatchObject({ status: "failed", responseStatus: status });
    expect(await row(delivery)).toMatchObject({
      status: "failed",
      nextAttemptAt: null,
      error: expect.stringMatching(/^HTTP \d{3}: (channel_|action_|no_service)/),
    });
  });

  it("tries a rate-limited message again no sooner than Retry-After, then delivers it", async () => {
    const { id } = await addChannel(t, "slack", slack.addWebhook("#busy"));
    const delivery = await addDelivery(t, id);
    slack.rateLimitNext(1, 45);
    expect(await deliverAttempt(deps, delivery, 1)).toMatchObject({ status: "pending", responseStatus: 429, retryInSeconds: 45 });
    expect((await row(delivery))?.nextAttemptAt).toBeInstanceOf(Date);
    expect(await deliverAttempt(deps, delivery, 2)).toEqual({ status: "delivered", responseStatus: 200 });
  });
});

describe("webhooks", () => {
  it("signs the body so the receiver can verify it, with the same delivery id on each attempt", async () => {
    const { id, signingKey } = await addChannel(t, "webhook", `${receiver.url}/sparki`);
    const delivery = await addDelivery(t, id);
    receiver.behaviours.push({ status: 503 });
    expect(await deliverAttempt(deps, delivery, 1)).toMatchObject({ status: "pending", responseStatus: 503, retryInSeconds: 30 });
    expect(await deliverAttempt(deps, delivery, 2)).toMatchObject({ status: "delivered", responseStatus: 204 });
    const [first, second] = receiver.received.slice(-2);
    for (const r of [first, second]) {
      expect(verifySignature(signingKey ?? "", r?.body ?? "", r?.headers["x-sparki-signature-256"] as string)).toBe(true);
      expect(r?.headers).toMatchObject({ "x-sparki-delivery": delivery, "x-sparki-event": "build.failed", "content-type": "application/json" });
    }
    expect(first?.body).toBe(second?.body);
    expect(JSON.parse(first?.body ?? "")).toMatchObject({ id: delivery, event: "build.failed", project: { name: "shop" }, build: { number: 3 } });
    expect(verifySignature("snk_another", first?.body ?? "", first?.headers["x-sparki-signature-256"] as string)).toBe(false);
  });

  it("makes each attempt once, however often the queue brings its message", async () => {
    const { id } = await addChannel(t, "webhook", `${receiver.url}/once`);
    const delivery = await addDelivery(t, id);
    const before = receiver.received.length;
    const results = await Promise.all([deliverAttempt(deps, delivery, 1), deliverAttempt(deps, delivery, 1)]);
    expect(results.filter((r) => "skipped" in r)).toHaveLength(1);
    expect(receiver.received.length - before).toBe(1);
    expect(await deliverAttempt(deps, delivery, 1)).toMatchObject({ skipped: expect.any(String) });
  });

  it("takes over an attempt whose claimer died before recording it, but not one in flight", async () => {
    const { id } = await addChannel(t, "webhook", `${receiver.url}/stale`);
    const inFlight = await addDelivery(t, id);
    await t.db.update(notificationDeliveries).set({ attempts: 1, lastAttemptAt: new Date() }).where(eq(notificationDeliveries.id, inFlight));
    expect(await deliverAttempt(deps, inFlight, 1)).toMatchObject({ skipped: expect.any(String) });

    const stale = await addDelivery(t, id);
    await t.db
      .update(notificationDeliveries)
      .set({ attempts: 1, lastAttemptAt: new Date(Date.now() - (STALE_ATTEMPT_SECONDS + 5) * 1000) })
      .where(eq(notificationDeliveries.id, stale));
    expect(await deliverAttempt(deps, stale, 1)).toEqual({ status: "delivered", responseStatus: 204 });
    expect(await row(stale)).toMatchObject({ attempts: 1, status: "delivered" });
  });

  it("gives up after the last attempt", async () => {
    const { id } = await addChannel(t, "webhook", `${receiver.url}/down`);
    const delivery = await addDelivery(t, id);
    const results = [];
    for (let attempt = 1; attempt <= NOTIFY_MAX_ATTEMPTS; attempt++) {
      receiver.behaviours.push({ status: 502 });
      results.push(await deliverAttempt(deps, delivery, attempt));
    }
    expect(results.slice(0, -1).every((r) => "status" in r && r.status === "pending")).toBe(true);
    const result = results.at(-1);
    expect(result).toMatchObject({ status: "failed", responseStatus: 502, error: expect.stringContaining(`gave up after ${NOTIFY_MAX_ATTEMPTS} attempts`) });
  });
});
