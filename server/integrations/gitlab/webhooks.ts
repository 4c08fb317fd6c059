/**
 * Receiving a GitLab project webhook delivery (https://docs.gitlab.com/user/project/integrations/webhooks/).
 *
 * GitLab does not sign the body: it sends the hook's secret token in clear as `X-Gitlab-Token`.
 * So the token is compared (in constant time) with the one Sparki set on that project's hook
 * BEFORE a byte of the body is read; only then is the body read (capped), parsed as JSON and
 * turned into a typed event (webhook-events.ts). The hook is found by the URL it was registered
 * with (one per Sparki project), never by anything in the body, and a payload naming another
 * GitLab project than the hook's is refused even with the right token.
 *
 * Every refusal is a {@link WebhookRejected} (a SparkiError, so app.onError answers problem+json):
 * 401 for a missing or wrong token (whatever else is wrong with the request), 413 past the size
 * cap, 400 for a delivery without its headers, not JSON, or not shaped as documented. GitLab
 * disables a hook for good after a 4xx, so the route answers 2xx to anything merely ignored.
 *
 * The delivery id to dedupe on is `Idempotency-Key` (GitLab 17.4+: the same on every retry of one
 * delivery), else `X-Gitlab-Event-UUID` (older GitLab; one id per event). Store it per project.
 *
 * Usage in the route to come:
 * ```ts
 * const { deliveryId, event } = await receiveWebhook(c.req.raw, { token, gitlabProjectId });
 * // record deliveryId for the project (a redelivery starts nothing twice), answer 202, queue `event` unless ignored
 * ```
 */
import { ZodError } from "zod";
import { SparkiError } from "../../../core/errors.ts";
import { type GitLabEvent, type IgnoredEvent, toEvent } from "./webhook-events.ts";
import { readCapped } from "../../http/read-capped.js";

/** The largest delivery read: a push lists at most 20 commits, a merge request carries its description. */
export const MAX_WEBHOOK_BYTES = 4 * 1024 * 1024;

export type WebhookRejection = "missing_token" | "wrong_token" | "too_large" | "missing_header" | "malformed_json" | "bad_payload" | "project_mismatch";

const codeOf = {
  missing_token: "unauthenticated",
  wrong_token: "unauthenticated",
  too_large: "payload_too_large",
  missing_header: "validation",
  malformed_json: "malformed_json",
  bad_payload: "validation",
  project_mismatch: "validation",
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

/** The project's hook as Sparki configured it: its secret token and the GitLab project it belongs to. */
export interface HookConfig {
  /** null when the project has no GitLab hook: the same work is done and the delivery refused. */
  token: string | null;
  gitlabProjectId: number | null;
}

const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
const encoder = new TextEncoder();

/**
 * Whether the received `X-Gitlab-Token` is the expected one. Both are hashed first, so the
 * comparison takes the same time whatever their lengths and wherever they differ.
 */
export async function tokenMatches(received: string | null, expected: string | null): Promise<boolean> {
  const digest = async (s: string): Promise<Uint8Array> => new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(s)));
  const [a, b] = await Promise.all([digest(received ?? ""), digest(expected ?? crypto.randomUUID())]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0 && expected !== null && expected !== "" && received !== null;
}

/** A new secret token for a project's hook: 256 random bits, hex (what Sparki shows once and seals). */
export function newHookToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The id to dedupe a delivery on, or null when GitLab sent neither header (or a malformed one). */
export function deliveryIdOf(headers: Headers): string | null {
  const id = headers.get("idempotency-key") ?? headers.get("x-gitlab-event-uuid");
  return id !== null && DELIVERY_ID.test(id) ? id : null;
}

/** Checks the token; reads nothing of the body when it does not match. Throws only WebhookRejected. */
export async function checkToken(req: Request, hook: HookConfig): Promise<void> {
  const received = req.headers.get("x-gitlab-token");
  // Refused without touching the body; the route drops it (discardBody) before answering.
  if (await tokenMatches(received, hook.token)) return;
  if (received === null || received === "")
    throw new WebhookRejected("missing_token", "X-Gitlab-Token is missing: set the secret token Sparki showed on the webhook");
  throw new WebhookRejected("wrong_token", "X-Gitlab-Token does not match this project's webhook");
}

/**
 * Reads and drops a refused request's unread body (at most `max` bytes, then cancels). Cancelling at once
 * made workerd reset the connection under the answer, which wrangler dev reported to GitLab as a
 * 503 "worker restarted mid-request" instead of the 401.
 */
export async function discardBody(req: Request, max = MAX_WEBHOOK_BYTES): Promise<void> {
  if (!req.body || req.bodyUsed) return;
  const reader = req.body.getReader();
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      size += value.byteLength;
      if (size > max) return void (await reader.cancel());
    }
  } catch {
    // The sender went away: nothing left to drop.
  }
}

/** Reads a request's body up to `max` bytes; past it, WebhookRejected("too_large") without reading on. */
export async function readBody(req: Request, max = MAX_WEBHOOK_BYTES): Promise<string> {
  const text = await readCapped(req, max);
  if (text === null) throw new WebhookRejected("too_large", `a delivery is at most ${max} bytes`);
  return text;
}

/** A checked delivery's body as a typed event, or "ignored". Throws only WebhookRejected. */
export function interpretDelivery(event: string, body: string, hook: HookConfig): GitLabEvent | IgnoredEvent {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch (err) {
    throw new WebhookRejected("malformed_json", "the delivery's body is not JSON", err);
  }
  let result: GitLabEvent | IgnoredEvent;
  try {
    result = toEvent(event, payload);
  } catch (err) {
    const detail = err instanceof ZodError ? err.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") : "unreadable";
    throw new WebhookRejected("bad_payload", `the ${event} payload is not shaped as documented: ${detail.slice(0, 500)}`, err);
  }
  if (result.type !== "ignored" && hook.gitlabProjectId !== null && result.project.id !== hook.gitlabProjectId)
    throw new WebhookRejected("project_mismatch", `the payload names GitLab project ${result.project.id}, not this hook's ${hook.gitlabProjectId}`);
  return result;
}

/** The whole reception of one request: token, headers, body (capped), payload. */
export async function receiveWebhook(
  req: Request,
  hook: HookConfig,
  max = MAX_WEBHOOK_BYTES,
): Promise<{ deliveryId: string; event: GitLabEvent | IgnoredEvent }> {
  await checkToken(req, hook);
  const event = req.headers.get("x-gitlab-event") ?? "";
  const deliveryId = deliveryIdOf(req.headers);
  const missing =
    !event || event.length > 64
      ? "X-Gitlab-Event is missing or malformed"
      : deliveryId === null
        ? "Idempotency-Key and X-Gitlab-Event-UUID are both missing or malformed"
        : null;
  if (missing !== null || deliveryId === null) {
    throw new WebhookRejected("missing_header", missing ?? "no delivery id");
  }
  const body = await readBody(req, max);
  return { deliveryId, event: interpretDelivery(event, body, hook) };
}
