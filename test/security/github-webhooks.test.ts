/**
 * Attacks on GitHub webhook reception (server/integrations/github/webhooks.ts): every forged,
 * truncated, oversized or misshapen delivery is refused with a WebhookRejected (a SparkiError with
 * the right status), never another kind of throw; unsigned requests get 401 whatever else they carry,
 * and the body is not read as JSON before its signature checks out.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SparkiError } from "../../core/errors.ts";
import { receiveWebhook, verifyDelivery, WebhookRejected, type WebhookRejection } from "../../server/integrations/github/webhooks.ts";
import { deliver, signature } from "../fakes/github-webhooks.ts";

const SECRET = "whsec-attack-tests";
const URL_ = "http://sparki.test/v1/integrations/github/webhook";
const push = {
  ref: "refs/heads/main",
  before: "b".repeat(40),
  after: "a".repeat(40),
  created: false,
  deleted: false,
  forced: false,
  head_commit: null,
  repository: {
    id: 1,
    name: "shop",
    full_name: "acme/shop",
    private: true,
    owner: { login: "acme" },
    default_branch: "main",
    clone_url: "https://github.com/acme/shop.git",
    html_url: "https://github.com/acme/shop",
  },
  sender: { login: "acme", id: 2 },
  installation: { id: 3 },
};

function request(body: BodyInit, headers: Record<string, string>): Request {
  return new Request(URL_, { method: "POST", headers, body, ...(body instanceof ReadableStream ? { duplex: "half" } : {}) } as RequestInit);
}

/** Runs the reception and returns its refusal, failing the test on success or on any other throw. */
async function refused(p: Promise<unknown>, reason: WebhookRejection, status: number): Promise<WebhookRejected> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebhookRejected);
  expect(err).toBeInstanceOf(SparkiError);
  expect(err).toMatchObject({ reason, status });
  return err as WebhookRejected;
}

const good = () => deliver(SECRET, "push", push);

describe("GitHub webhook signatures", () => {
  it("accepts the genuine delivery (the baseline the attacks vary)", async () => {
    const d = good();
    await expect(receiveWebhook(request(d.body, d.headers), SECRET)).resolves.toMatchObject({ event: { type: "push" } });
  });

  it("refuses a missing, empty, truncated, re-cased, SHA-1 or garbage signature with 401", async () => {
    const d = good();
    const sig = d.headers["x-hub-signature-256"]!;
    const variants: (string | null)[] = [
      null,
      "",
      sig.slice(0, -1),
      sig.slice(0, 20),
      sig.toUpperCase(),
      `sha256=${sig.slice(7).toUpperCase()}`,
      `sha1=${createHmac("sha1", SECRET).update(d.body).digest("hex")}`,
      `${sig}00`,
      "sha256=zz",
      `sha256=${"0".repeat(64)}`,
      "sha256=",
      `${sig},sha256=${"0".repeat(64)}`,
    ];
    for (const v of variants) {
      const headers = { ...d.headers };
      if (v === null) delete headers["x-hub-signature-256"];
      else headers["x-hub-signature-256"] = v;
      await refused(receiveWebhook(request(d.body, headers), SECRET), v ? "bad_signature" : "missing_signature", 401);
    }
  });

  it("refuses a signature made over another body, or with another secret", async () => {
    const d = good();
    const tampered = d.body.replace("refs/heads/main", "refs/heads/evil");
    await refused(receiveWebhook(request(tampered, d.headers), SECRET), "bad_signature", 401);
    await refused(receiveWebhook(request(`${d.body} `, d.headers), SECRET), "bad_signature", 401);
    const other = deliver("another-secret", "push", push);
    await refused(receiveWebhook(request(other.body, other.headers), SECRET), "bad_signature", 401);
  });

  it("checks the signature before reading the body: an unsigned non-JSON body is a 401, not a 400", async () => {
    const d = good();
    await refused(receiveWebhook(request("{not json", d.headers), SECRET), "bad_signature", 401);
    // Headers missing too: still 401, nothing about the request is believed before the signature.
    await refused(receiveWebhook(request("{not json", { "content-type": "application/json" }), SECRET), "missing_signature", 401);
  });

  it("refuses bytes that are not UTF-8 even when signed over them", async () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const headers = { ...good().headers, "x-hub-signature-256": signature(SECRET, bytes) };
    await refused(receiveWebhook(request(bytes, headers), SECRET), "bad_signature", 401);
  });

  it("refuses everything when no secret is configured", async () => {
    const d = good();
    await refused(receiveWebhook(request(d.body, d.headers), ""), "not_configured", 500);
  });
});

describe("GitHub webhook size", () => {
  it("refuses a body over the cap by its Content-Length, before reading it", async () => {
    const d = good();
    await refused(receiveWebhook(request(d.body, { ...d.headers, "content-length": String(10 * 1024 * 1024) }), SECRET, 1024), "too_large", 413);
  });

  it("refuses a streamed body that grows past the cap, without buffering the rest", async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(64 * 1024).fill(0x20));
        if (pulled > 1000) c.close();
      },
    });
    const d = good();
    const headers = { ...d.headers };
    await refused(receiveWebhook(request(stream, headers), SECRET, 256 * 1024), "too_large", 413);
    expect(pulled).toBeLessThan(20);
  });

  it("a body stream that breaks mid-way is a refusal too", async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"ref":'));
        c.error(new Error("connection reset"));
      },
    });
    await refused(receiveWebhook(request(stream, good().headers), SECRET), "bad_payload", 400);
  });

  it("refuses a raw body over the cap handed straight to verifyDelivery", async () => {
    const d = good();
    await refused(verifyDelivery(SECRET, new Headers(d.headers), new Uint8Array(2048), 1024), "too_large", 413);
  });
});

describe("signed but not what GitHub sends", () => {
  it("refuses missing or malformed event and delivery headers (400)", async () => {
    const d = good();
    for (const [k, v] of [
      ["x-github-event", ""],
      ["x-github-event", "push\r\nx: y"],
      ["x-github-delivery", ""],
      ["x-github-delivery", "../../etc/passwd"],
      ["x-github-delivery", "x".repeat(200)],
    ] as const) {
      const headers = new Headers(d.headers);
      headers.set(k, v.replace(/[\r\n]/g, ""));
      if (v === "") headers.delete(k);
      await refused(verifyDelivery(SECRET, headers, new TextEncoder().encode(d.body)), "missing_header", 400);
    }
  });

  it("refuses a signed body that is not JSON, or not sent as JSON", async () => {
    const notJson = deliver(SECRET, "push", "{not json");
    await refused(receiveWebhook(request(notJson.body, notJson.headers), SECRET), "malformed_json", 400);
    const form = deliver(SECRET, "push", `payload=${encodeURIComponent(JSON.stringify(push))}`);
    await refused(receiveWebhook(request(form.body, { ...form.headers, "content-type": "application/x-www-form-urlencoded" }), SECRET), "bad_payload", 400);
  });

  it("refuses a consumed event whose payload is shaped wrong, naming the field", async () => {
    const cases: [string, unknown][] = [
      ["push", { ...push, after: "not-a-sha" }],
      ["push", { ...push, repository: { ...push.repository, id: "1" } }],
      ["push", { ...push, installation: { id: -1 } }],
      ["push", []],
      ["push", null],
      ["push", JSON.stringify("a string")],
      ["pull_request", { action: "opened", number: 1 }],
      ["pull_request", { action: "closed", number: 1, pull_request: { head: null }, repository: push.repository, sender: push.sender }],
      ["installation", { action: "created", installation: { id: 1 } }],
      ["installation_repositories", { action: "added", installation: null }],
    ];
    for (const [event, payload] of cases) {
      const d = deliver(SECRET, event, payload);
      const err = await refused(receiveWebhook(request(d.body, d.headers), SECRET), "bad_payload", 400);
      expect(err.detail).toMatch(new RegExp(`the ${event} payload`));
    }
    const err = await refused(
      receiveWebhook(request(deliver(SECRET, "push", { ...push, after: "zz" }).body, deliver(SECRET, "push", { ...push, after: "zz" }).headers), SECRET),
      "bad_payload",
      400,
    );
    expect(err.detail).toMatch(/after/);
  });

  it("a __proto__ key in a payload pollutes nothing", async () => {
    const body = JSON.stringify(push).replace('"ref":', '"__proto__":{"polluted":true},"ref":');
    const d = deliver(SECRET, "push", body);
    await expect(receiveWebhook(request(d.body, d.headers), SECRET)).resolves.toMatchObject({ event: { type: "push" } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("a deeply nested signed payload is refused or parsed, never a crash of another kind", async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const d = deliver(SECRET, "push", deep);
    await refused(receiveWebhook(request(d.body, d.headers), SECRET), "bad_payload", 400);
  });
});
