/**
 * A local fake of Slack's incoming webhooks (https://api.slack.com/messaging/webhooks), a real
 * HTTP server. Each webhook is `POST /services/T…/B…/<secret>` taking a JSON message with `text`
 * and/or `blocks`; as Slack documents under "Handling errors", it answers 200 with the body `ok`
 * (text/html), or a 4xx whose body is the reason in plain text: `invalid_payload` (400, not
 * JSON or malformed blocks), `no_text` (400, neither text nor blocks), `no_service` (404, an
 * unknown or revoked URL), `channel_not_found` (404), `channel_is_archived` (410),
 * `action_prohibited` (403). Over its rate (one message a second per webhook, bursts allowed) Slack
 * answers 429 with Retry-After; tests ask for that with {@link FakeSlack.rateLimitNext}.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { z } from "zod";

export interface FakeSlackWebhook {
  path: string;
  channel: string;
  state: "active" | "revoked" | "channel_not_found" | "archived" | "prohibited";
}

export interface PostedMessage {
  channel: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  contentType: string | undefined;
}

const TextObject = z.object({ type: z.enum(["mrkdwn", "plain_text"]), text: z.string().min(1).max(3000) });
const Block = z.discriminatedUnion("type", [
  z.object({ type: z.literal("section"), text: TextObject, block_id: z.string().max(255).optional() }),
  z.object({ type: z.literal("context"), elements: z.array(TextObject).min(1).max(10) }),
  z.object({ type: z.literal("divider") }),
  z.object({ type: z.literal("header"), text: z.object({ type: z.literal("plain_text"), text: z.string().min(1).max(150) }) }),
]);
const Message = z.object({ text: z.string().max(40_000).optional(), blocks: z.array(Block).max(50).optional() });

export class FakeSlack {
  readonly webhooks = new Map<string, FakeSlackWebhook>();
  readonly messages: PostedMessage[] = [];
  #server: Server | null = null;
  #sockets = new Set<Socket>();
  #port = 0;
  #limited: { count: number; retryAfter: number } = { count: 0, retryAfter: 1 };
  #failures: number[] = [];

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** A new incoming webhook posting to `channel`; its URL is the credential. */
  addWebhook(channel: string, state: FakeSlackWebhook["state"] = "active"): string {
    const id = () => randomBytes(5).toString("hex").toUpperCase();
    const path = `/services/T${id()}/B${id()}/${randomBytes(12).toString("base64url")}`;
    this.webhooks.set(path, { path, channel, state });
    return `${this.url}${path}`;
  }

  /** The next `count` messages get 429 with `Retry-After: retryAfter`. */
  rateLimitNext(count: number, retryAfter = 1): void {
    this.#limited = { count, retryAfter };
  }

  /** The next messages get these 5xx statuses, one each (Slack's own outages). */
  failNext(...statuses: number[]): void {
    this.#failures.push(...statuses);
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on("connection", (s) => {
      this.#sockets.add(s);
      s.on("close", () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, "127.0.0.1", resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const reply = (status: number, text: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "text/html", ...headers });
      res.end(text);
    };
    const hook = this.webhooks.get(req.url ?? "");
    if (req.method !== "POST" || !hook || hook.state === "revoked") return reply(404, "no_service");
    if (this.#limited.count > 0) {
      this.#limited.count--;
      return reply(429, "rate_limited", { "retry-after": String(this.#limited.retryAfter) });
    }
    const failure = this.#failures.shift();
    if (failure) return reply(failure, "internal_error");
    if (hook.state === "channel_not_found") return reply(404, "channel_not_found");
    if (hook.state === "archived") return reply(410, "channel_is_archived");
    if (hook.state === "prohibited") return reply(403, "action_prohibited");
    let json: unknown;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return reply(400, "invalid_payload");
    }
    const message = Message.safeParse(json);
    if (!message.success) return reply(400, "invalid_payload");
    if (!message.data.text && !message.data.blocks?.length) return reply(400, "no_text");
    this.messages.push({ channel: hook.channel, text: message.data.text, blocks: message.data.blocks, contentType: req.headers["content-type"] });
    return reply(200, "ok");
  }
}
