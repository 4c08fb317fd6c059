/**
 * The baseline of bench/logs: the least a Durable Object can do to fan a live log out. One
 * producer socket sends frames of lines; the object keeps them in memory and, 25 ms after the
 * first line of a batch, sends one frame with the whole batch to every viewer (the same frame
 * shape and the same hibernation API as the BuildCoordinator). No storage, no acks, no
 * validation: what is left is the cost of workerd's sockets themselves.
 */
import { DurableObject } from "cloudflare:workers";
import type { ViewerLogLine } from "../../core/contracts/logs.ts";

const batchMs = 25;

export class LogRelay extends DurableObject {
  #batch: ViewerLogLine[] = [];
  #scheduled = false;

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const role = new URL(request.url).pathname.endsWith("/producer") ? "producer" : "viewer";
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [role]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.ctx.getTags(ws).includes("producer")) return;
    const frame = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message)) as { lines: Omit<ViewerLogLine, "jobId">[] };
    for (const line of frame.lines) this.#batch.push({ ...line, jobId: "relay" });
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => this.#flush(), batchMs);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // already closed
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#batch.length === 0) return;
    const frame = JSON.stringify({ type: "lines", lines: this.#batch });
    this.#batch = [];
    for (const viewer of this.ctx.getWebSockets("viewer")) {
      try {
        viewer.send(frame);
      } catch {
        // closed meanwhile
      }
    }
  }
}
