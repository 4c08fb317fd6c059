/**
 * Attacks on GitLab webhook reception (server/integrations/gitlab/webhooks.ts): whatever is sent,
 * the answer is a typed WebhookRejected with the right status, or a typed event, never a crash or
 * a half-read event. GitLab does not sign deliveries, so the token is the whole proof.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliver, deliveryHeaders, type HookProject, mergeRequestPayload, pushPayload } from "../fakes/gitlab-hooks.ts";
import { type HookConfig, MAX_WEBHOOK_BYTES, receiveWebhook, WebhookRejected, type WebhookRejection } from "../../server/integrations/gitlab/webhooks.ts";

const BASE = "https://gitlab.example.com";
const shop: HookProject = { id: 42, path_with_namespace: "acme/shop", default_branch: "main", visibility: "private" };
const blog: HookProject = { id: 43, path_with_namespace: "acme/blog", default_branch: "main", visibility: "private" };
const shopHook: HookConfig = { token: "shop-hook-token-0123456789", gitlabProjectId: 42 };
const blogHook: HookConfig = { token: "blog-hook-token-9876543210", gitlabProjectId: 43 };
const push = pushPayload(BASE, shop, { ref: "refs/heads/main", after: "a".repeat(40) });

/** A request whose body records whether anything pulled it. */
function tracked(body: string, headers: Record<string, string>): { req: Request; pulled: () => boolean } {
  let pulled = false;
  // highWaterMark 0: nothing is pulled until someone reads.
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulled = true;
        controller.enqueue(new TextEncoder().encode(body));
        controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  const req = new Request("https://sparki.test/hook", { method: "POST", headers, body: stream, duplex: "half" } as RequestInit);
  return { req, pulled: () => pulled };
}

async function rejection(req: Request, hook: HookConfig, max?: number): Promise<{ reason: WebhookRejection; status: number; detail: string | undefined }> {
  const err = await receiveWebhook(req, hook, max).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof WebhookRejected)) throw new Error(`expected a WebhookRejected, got ${String(err)}`);
  return { reason: err.reason, status: err.status, detail: err.detail };
}

const post = (body: string, headers: Record<string, string>): Request => new Request("https://sparki.test/hook", { method: "POST", headers, body });

describe("who may deliver", () => {
  it("no token, an empty one or a wrong one: 401, and the body is never read", async () => {
    const headers = deliveryHeaders(push);
    for (const [token, reason] of [
      [undefined, "missing_token"],
      ["", "missing_token"],
      ["shop-hook-token-012345678", "wrong_token"],
      ["shop-hook-token-0123456789x", "wrong_token"],
    ] as const) {
      const h = token === undefined ? headers : { ...headers, "x-gitlab-token": token };
      const { req, pulled } = tracked(JSON.stringify(push), h);
      expect(await rejection(req, shopHook)).toMatchObject({ reason, status: 401 });
      expect(pulled()).toBe(false);
    }
  });

  it("the token of another project's hook does not open this one", async () => {
    const req = post(JSON.stringify(push), deliveryHeaders(push, { token: blogHook.token ?? "" }));
    expect(await rejection(req, shopHook)).toMatchObject({ reason: "wrong_token", status: 401 });
  });

  it("a project without a GitLab hook refuses everything, an empty token included", async () => {
    for (const token of ["", "anything"]) {
      const req = post(JSON.stringify(push), deliveryHeaders(push, { token }));
      expect((await rejection(req, { token: null, gitlabProjectId: null })).status).toBe(401);
    }
  });

  it("the right token with a payload naming another GitLab project is refused", async () => {
    const other = pushPayload(BASE, blog, { ref: "refs/heads/main", after: "b".repeat(40) });
    const req = post(JSON.stringify(other), deliveryHeaders(other, { token: shopHook.token ?? "" }));
    expect(await rejection(req, shopHook)).toMatchObject({ reason: "project_mismatch", status: 400 });
    const mr = mergeRequestPayload(BASE, { target: blog, action: "open", iid: 1, sourceBranch: "x", lastCommit: "c".repeat(40) });
    expect((await rejection(post(JSON.stringify(mr), deliveryHeaders(mr, { token: shopHook.token ?? "" })), shopHook)).reason).toBe("project_mismatch");
  });
});

describe("what a delivery may hold", () => {
  const headers = deliveryHeaders(push, { token: shopHook.token ?? "" });

  it("oversize: refused by Content-Length before reading, and while streaming without one", async () => {
    const big = JSON.stringify({ ...push, padding: "x".repeat(MAX_WEBHOOK_BYTES) });
    expect(await rejection(post(big, headers), shopHook)).toMatchObject({ reason: "too_large", status: 413 });
    const { req } = tracked(big, headers);
    expect(req.headers.get("content-length")).toBeNull();
    expect(await rejection(req, shopHook)).toMatchObject({ reason: "too_large", status: 413 });
    expect(await rejection(post(JSON.stringify(push), headers), shopHook, 100)).toMatchObject({ reason: "too_large" });
  });

  it("not JSON, or JSON of the wrong shape: 400 with what is wrong", async () => {
    for (const body of ["", "{", "not json", "\u0000\u0001", '{"object_kind":'])
      expect(await rejection(post(body, headers), shopHook)).toMatchObject({ reason: "malformed_json", status: 400 });
    for (const body of ["null", "[]", "42", '"push"', "{}", JSON.stringify({ ...push, after: "nope" }), JSON.stringify({ ...push, project: { id: "42" } })])
      expect(await rejection(post(body, headers), shopHook)).toMatchObject({ reason: "bad_payload", status: 400 });
    const { detail } = await rejection(post(JSON.stringify({ ...push, checkout_sha: 7 }), headers), shopHook);
    expect(detail).toContain("checkout_sha");
  });

  it("a header that does not match the body's object_kind is refused", async () => {
    const mr = mergeRequestPayload(BASE, { target: shop, action: "open", iid: 1, sourceBranch: "x", lastCommit: "c".repeat(40) });
    const req = post(JSON.stringify(mr), { ...headers, "x-gitlab-event": "Push Hook" });
    expect(await rejection(req, shopHook)).toMatchObject({ reason: "bad_payload", status: 400 });
  });

  it("without an event name or a delivery id (or with a forged one) it is refused", async () => {
    const { "x-gitlab-event": _event, ...noEvent } = headers;
    expect((await rejection(post(JSON.stringify(push), noEvent), shopHook)).reason).toBe("missing_header");
    const { "idempotency-key": _key, "x-gitlab-event-uuid": _uuid, ...noId } = headers;
    expect((await rejection(post(JSON.stringify(push), noId), shopHook)).reason).toBe("missing_header");
    const forged = { ...headers, "idempotency-key": "../../etc/passwd" };
    expect((await rejection(post(JSON.stringify(push), forged), shopHook)).reason).toBe("missing_header");
  });

  it("hostile but well-formed values stay data", async () => {
    const weird = pushPayload(BASE, shop, { ref: "refs/heads/$(rm -rf ~);<script>", after: "d".repeat(40) });
    const { event } = await receiveWebhook(post(JSON.stringify({ ...weird, __proto__: { admin: true } }), headers), shopHook);
    expect(event).toMatchObject({ type: "push", refName: "$(rm -rf ~);<script>", commit: "d".repeat(40) });
    expect((event as { admin?: unknown }).admin).toBeUndefined();
  });
});

describe("over real HTTP, as GitLab's webhook worker sends it", () => {
  let server: Server;
  let url = "";
  // A stand-in for the route to come: the project's hook, receiveWebhook, the typed outcome.
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
        const request = new Request(`http://sparki.test${req.url}`, { method: "POST", headers, body: Buffer.concat(chunks) });
        receiveWebhook(request, shopHook).then(
          (r) => {
            res.writeHead(202, { "content-type": "application/json" });
            res.end(JSON.stringify(r));
          },
          (e: unknown) => {
            const err = e instanceof WebhookRejected ? e : null;
            res.writeHead(err?.status ?? 500, { "content-type": "application/json" });
            res.end(JSON.stringify({ reason: err?.reason ?? "crash" }));
          },
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/integrations/gitlab/webhook/p1`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("a delivery with the hook's token is read; a retry keeps its Idempotency-Key", async () => {
    const res = await deliver(url, push, { token: shopHook.token ?? "", idempotencyKey: "9f1c7e0a-retry" });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ deliveryId: "9f1c7e0a-retry", event: { type: "push", refName: "main" } });
    const again = await deliver(url, push, { token: shopHook.token ?? "", idempotencyKey: "9f1c7e0a-retry" });
    expect(((await again.json()) as { deliveryId: string }).deliveryId).toBe("9f1c7e0a-retry");
  });

  it("refusals are clean statuses, never a crash", async () => {
    expect((await deliver(url, push)).status).toBe(401);
    expect((await deliver(url, push, { token: "nope" })).status).toBe(401);
    expect((await deliver(url, push, { token: shopHook.token ?? "", rawBody: "{oops" })).status).toBe(400);
    const big = await deliver(url, push, { token: shopHook.token ?? "", rawBody: "x".repeat(MAX_WEBHOOK_BYTES + 1) });
    expect(big.status).toBe(413);
  });
});
