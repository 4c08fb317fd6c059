/**
 * Attacks on notification channels, at delivery time (the route's check at creation is in
 * workers/routes/notifications.test.ts): on an instance without ALLOW_LOCAL_OUTBOUND a channel
 * URL at loopback, the metadata service, a private address or an internal name is never asked,
 * and a redirect is not followed; a channel that answers with far too much or never finishes
 * costs a capped read and a timeout, and its attempt is recorded, not lost; a delivery's
 * signature holds only for the exact body under the channel's own key.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notificationDeliveries } from "../../server/db/schema.ts";
import { type DeliverDeps, deliverAttempt } from "../../server/notifications/deliver.ts";
import { verifySignature, WebhookReceiver } from "../fakes/webhook-receiver.ts";
import { addChannel, addDelivery, type NotificationDb, notificationDb, SECRETS_KEY } from "../notification-db.ts";

const receiver = new WebhookReceiver();
let t: NotificationDb;
let production: DeliverDeps;
let development: DeliverDeps;

beforeAll(async () => {
  t = await notificationDb();
  production = { db: t.db, config: { SECRETS_KEY, ALLOW_LOCAL_OUTBOUND: false } };
  development = { db: t.db, config: { SECRETS_KEY, ALLOW_LOCAL_OUTBOUND: true }, timeoutMs: 1000 };
  await receiver.start();
}, 60_000);

afterAll(async () => {
  await receiver.close();
  await t.pg.close();
});

const row = async (id: string) => (await t.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.id, id)))[0];

async function attempt(deps: DeliverDeps, url: string) {
  const { id } = await addChannel(t, "webhook", url);
  const delivery = await addDelivery(t, id);
  return { result: await deliverAttempt(deps, delivery, 1), delivery };
}

describe("outbound policy at delivery (ALLOW_LOCAL_OUTBOUND off)", () => {
  it.each([
    ["the receiver on loopback", () => `${receiver.url}/hook`, "must use https"],
    ["loopback over https", () => "https://127.0.0.1/hook", "IP address (loopback range)"],
    ["the metadata service", () => "https://169.254.169.254/latest/meta-data/", "metadata range"],
    ["an IPv4-mapped loopback", () => "https://[::ffff:127.0.0.1]/hook", "IP address"],
    ["a private address", () => "https://10.1.2.3/hook", "private range"],
    ["the metadata name", () => "https://metadata.google.internal/computeMetadata/v1/", "internal"],
    ["localhost", () => "https://localhost/hook", "internal"],
    ["a single-label name", () => "https://intranet/hook", "internal"],
  ])("refuses %s, asks nothing and does not retry", async (_name, url, reason) => {
    const before = receiver.received.length;
    const { result, delivery } = await attempt(production, url());
    expect(result).toMatchObject({ status: "failed", responseStatus: null, error: expect.stringContaining(reason) });
    expect(receiver.received.length).toBe(before);
    expect((await row(delivery))?.status).toBe("failed");
  });
});

describe("hostile answers", () => {
  it("does not follow a redirect (to the metadata service or anywhere)", async () => {
    receiver.behaviours.push({ redirect: "http://169.254.169.254/latest/meta-data/" });
    const before = receiver.received.length;
    const { result } = await attempt(development, `${receiver.url}/moved`);
    expect(result).toMatchObject({ status: "failed", responseStatus: 307, error: expect.stringContaining("redirects are not followed") });
    expect(receiver.received.length).toBe(before + 1);
  });

  it("reads at most a few KiB of a huge answer and records the attempt", async () => {
    receiver.behaviours.push({ huge: 50 * 1024 * 1024 });
    const { result, delivery } = await attempt(development, `${receiver.url}/huge`);
    expect(result).toMatchObject({ status: "pending", responseStatus: 500, error: "HTTP 500 (answer too large)" });
    expect((await row(delivery))?.error).toBe("HTTP 500 (answer too large)");
  });

  it("gives up on an answer that never ends at the timeout, and tries again later", async () => {
    receiver.behaviours.push({ hang: true });
    const { result, delivery } = await attempt(development, `${receiver.url}/slow`);
    expect(result).toMatchObject({ status: "pending", responseStatus: null, error: "timed out", retryInSeconds: 30 });
    expect(await row(delivery)).toMatchObject({ status: "pending", attempts: 1 });
  });

  it("keeps an answer's control characters and markup out of the delivery log", async () => {
    receiver.behaviours.push({ status: 400, body: "\u001b[31mbad\u0000<script>x</script>\r\nSet-Cookie: a=b" });
    const { result } = await attempt(development, `${receiver.url}/odd`);
    expect(result).toMatchObject({ status: "failed", responseStatus: 400 });
    if (!("error" in result)) throw new Error("expected an error");
    expect(result.error).not.toMatch(/[\u0000-\u001f]/);
    expect(result.error.length).toBeLessThanOrEqual(220);
  });
});

describe("signatures", () => {
  it("hold only for the exact body under the channel's own key", async () => {
    const { id, signingKey } = await addChannel(t, "webhook", `${receiver.url}/signed`);
    const other = await addChannel(t, "webhook", `${receiver.url}/signed`);
    await deliverAttempt(development, await addDelivery(t, id), 1);
    const got = receiver.received.at(-1);
    const signature = got?.headers["x-sparki-signature-256"] as string;
    expect(verifySignature(signingKey ?? "", got?.body ?? "", signature)).toBe(true);
    expect(verifySignature(signingKey ?? "", `${got?.body} `, signature)).toBe(false);
    expect(verifySignature(other.signingKey ?? "", got?.body ?? "", signature)).toBe(false);
    expect(signingKey).not.toBe(other.signingKey);
    expect(JSON.stringify(got?.headers)).not.toContain(signingKey);
  });
});
