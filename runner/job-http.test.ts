import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NetworkError } from "./http-errors.ts";
import { putStream } from "./job-http.ts";

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((done) => server?.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/upload`;
}

/** A body read slowly (as from a disk or a tar being packed): the connection can fail between chunks. */
async function* slow(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 5));
    yield new Uint8Array(1024);
  }
}

/** 32 MiB in 64 KiB chunks: more than the socket buffers, so writes wait for the server. */
async function* big(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < 512; i++) yield new Uint8Array(64 * 1024);
}

describe("putStream", () => {
  it("sends the body with its length and returns the answer", async () => {
    const url = await listen((req, res) => {
      let got = 0;
      req.on("data", (c: Buffer) => {
        got += c.length;
      });
      req.on("end", () => res.writeHead(201, { "retry-after": "3" }).end(`${req.headers["content-length"]}:${got}`));
    });
    const size = 512 * 64 * 1024;
    const answer = await putStream(url, {}, big(), size, AbortSignal.timeout(30_000), "upload");
    expect(answer).toEqual({ status: 201, text: `${size}:${size}`, retryAfter: "3" });
  });

  it("turns a connection the server drops mid-body into a NetworkError, not an unhandled rejection", async () => {
    const url = await listen((req) => {
      req.once("data", () => req.socket.destroy());
    });
    const put = putStream(url, {}, slow(), 200 * 1024, AbortSignal.timeout(30_000), "artifact upload");
    await expect(put).rejects.toBeInstanceOf(NetworkError);
    await expect(put).rejects.toThrow(/artifact upload to 127\.0\.0\.1:\d+ failed/);
  });

  it("returns a refusal the server sends before the body is in, and stops writing", async () => {
    const url = await listen((req, res) => {
      req.once("data", () => res.writeHead(413, { connection: "close" }).end("too large"));
    });
    const answer = await putStream(url, {}, slow(), 200 * 1024, AbortSignal.timeout(30_000), "upload").catch((err: unknown) => err);
    // Whether the refusal or the closed connection arrives first is the network's choice: either way
    // the caller gets an answer it can act on, and the runner keeps running.
    if (answer instanceof Error) expect(answer).toBeInstanceOf(NetworkError);
    else expect(answer).toMatchObject({ status: 413, text: "too large" });
  });
});
