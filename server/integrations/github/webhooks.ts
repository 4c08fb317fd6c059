/**
 * Receiving a GitHub App webhook delivery: the raw body is size-capped and its `X-Hub-Signature-256`
 * verified with `GITHUB_WEBHOOK_SECRET` (@octokit/webhooks-methods, constant-time) BEFORE anything
 * reads it as JSON; only then is it parsed and turned into a typed event (webhook-events.ts).
 *
 * Every refusal is a {@link WebhookRejected} (a SparkiError, so app.onError answers problem+json):
 * 401 for a missing or wrong signature (whatever else is wrong with the request), 413 past the
 * size cap, 400 for a signed delivery without its headers, not JSON, or not shaped as documented.
 *
 * Usage in the route to come:
 * ```ts
 * const { deliveryId, event } = await receiveWebhook(c.req.raw, env.GITHUB_WEBHOOK_SECRET);
 * // record deliveryId (a redelivery starts nothing twice), answer 202, queue `event` unless ignored
 * ```
 * The route must be exempt from the API's 1 MiB bodyLimit, or the limit must match {@link MAX_WEBHOOK_BYTES}.
 */
import { verify } from "@octokit/webhooks-methods";
import { ZodError } from "zod";
import { SparkiError } from "../../../core/errors.ts";
import { type GitHubEvent, type IgnoredEvent, toEvent } from "./webhook-events.ts";

/**
 * The largest delivery read. GitHub caps payloads at 25 MB, but the events Sparki consumes are a
 * few KiB; a push listing 20 commits with thousands of changed files each is the large case.
 */
export const MAX_WEBHOOK_BYTES = 4 * 1024 * 1024;

export type WebhookRejection = "not_configured" | "missing_signature" | "bad_signature" | "too_large" | "missing_header" | "malformed_json" | "bad_payload";

const codeOf = {
  not_configured: "internal",
  missing_signature: "unauthenticated",
  bad_signature: "unauthenticated",
  too_large: "payload_too_large",
  missing_header: "validation",
  malformed_json: "malformed_json",
  bad_payload: "validation",
} as const satisfies Record<WebhookRejection, string>;

/** A delivery refused; `reason` says which check failed. */
export class WebhookRejected extends SparkiError {
  constructor(
    readonly reason: WebhookRejection,
    detail: string,
    cause?: unknown,
  ) {
    super(codeOf[reason], { detail, cause });
    this.name = "WebhookRejected";
  }
}

/** A delivery whose signature checked out. */
export interface VerifiedDelivery {
  deliveryId: string;
  event: string;
  payload: unknown;
}

const SIGNATURE = /^sha256=[0-9a-f]{64}$/;
const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

/** Reads a request's body up to `max` bytes; past it, WebhookRejected("too_large") without reading on. */
export async function readBody(req: Request, max = MAX_WEBHOOK_BYTES): Promise<Uint8Array> {
  const tooLarge = (): WebhookRejected => new WebhookRejected("too_large", `a delivery is at most ${max} bytes`);
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > max) {
    await req.body?.cancel();
    throw tooLarge();
  }
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (err) {
      // The sender went away mid-body: still a refusal of our own type.
      throw new WebhookRejected("bad_payload", "the delivery's body could not be read", err);
    }
    const { done, value } = next;
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.byteLength) - c.byteLength);
  return out;
}

/** Checks the signature over the raw body, then parses it. Throws only WebhookRejected. */
export async function verifyDelivery(secret: string, headers: Headers, raw: Uint8Array, max = MAX_WEBHOOK_BYTES): Promise<VerifiedDelivery> {
  if (!secret) throw new WebhookRejected("not_configured", "GITHUB_WEBHOOK_SECRET is not set");
  if (raw.byteLength > max) throw new WebhookRejected("too_large", `a delivery is at most ${max} bytes`);
  const signature = headers.get("x-hub-signature-256");
  if (signature === null || signature === "") throw new WebhookRejected("missing_signature", "X-Hub-Signature-256 is missing");
  // The library's web build throws on a signature that is not hex: only a well-formed one reaches it.
  if (!SIGNATURE.test(signature)) throw new WebhookRejected("bad_signature", "X-Hub-Signature-256 does not match the body");
  // GitHub sends UTF-8; other bytes decode to U+FFFD, which no signature over the original bytes matches.
  const body = new TextDecoder().decode(raw);
  let ok = false;
  try {
    ok = body !== "" && (await verify(secret, body, signature));
  } catch (err) {
    throw new WebhookRejected("bad_signature", "X-Hub-Signature-256 does not match the body", err);
  }
  if (!ok) throw new WebhookRejected("bad_signature", "X-Hub-Signature-256 does not match the body");

  const event = headers.get("x-github-event") ?? "";
  const deliveryId = headers.get("x-github-delivery") ?? "";
  if (!EVENT_NAME.test(event)) throw new WebhookRejected("missing_header", "X-GitHub-Event is missing or malformed");
  if (!DELIVERY_ID.test(deliveryId)) throw new WebhookRejected("missing_header", "X-GitHub-Delivery is missing or malformed");
  const type = headers.get("content-type") ?? "application/json";
  if (!/^application\/json\b/i.test(type)) throw new WebhookRejected("bad_payload", "set the webhook's content type to application/json");
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch (err) {
    throw new WebhookRejected("malformed_json", "the delivery's body is not JSON", err);
  }
  return { deliveryId, event, payload };
}

/** A verified delivery as a typed event, or "ignored". Throws only WebhookRejected. */
export function interpretDelivery(d: VerifiedDelivery): GitHubEvent | IgnoredEvent {
  try {
    return toEvent(d.event, d.payload);
  } catch (err) {
    const detail = err instanceof ZodError ? err.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") : "unreadable";
    throw new WebhookRejected("bad_payload", `the ${d.event} payload is not shaped as documented: ${detail.slice(0, 500)}`, err);
  }
}

/** The whole reception of one request: read (capped), verify, parse, interpret. */
export async function receiveWebhook(
  req: Request,
  secret: string,
  max = MAX_WEBHOOK_BYTES,
): Promise<{ deliveryId: string; event: GitHubEvent | IgnoredEvent }> {
  const raw = await readBody(req, max);
  const delivery = await verifyDelivery(secret, req.headers, raw, max);
  return { deliveryId: delivery.deliveryId, event: interpretDelivery(delivery) };
}
