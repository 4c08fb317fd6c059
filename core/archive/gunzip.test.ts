import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { gunzip, GzipError } from "./gunzip.ts";

/** `bytes` as a stream in chunks of `size`, counting what has been taken from it. */
function counted(bytes: Uint8Array, size = 64 * 1024) {
  const seen = { taken: 0 };
  let at = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (at >= bytes.byteLength) return controller.close();
        const chunk = bytes.slice(at, at + size);
        at += chunk.byteLength;
        seen.taken += chunk.byteLength;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, seen };
}

describe("gunzip", () => {
  it("inflates only as the reader reads: a bomb's output never runs ahead", async () => {
    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024));
    const { stream, seen } = counted(bomb, 1024);
    const reader = gunzip(stream).getReader();
    let read = 0;
    let biggest = 0;
    let ahead = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
      biggest = Math.max(biggest, value.byteLength);
      // Input taken beyond what the output read so far needed (zeros deflate at ~1030:1).
      ahead = Math.max(ahead, seen.taken - read / 1000);
    }
    expect(ahead).toBeLessThan(4096);
    expect(read).toBe(200 * 1024 * 1024);
    // One step inflates 1 KiB of input: about a MiB of zeros at most.
    expect(biggest).toBeLessThanOrEqual(1.1 * 1024 * 1024);
  });

  it("round-trips ordinary data", async () => {
    const text = "sparki ".repeat(100_000);
    const out = await new Response(gunzip(counted(gzipSync(text), 333).stream)).text();
    expect(out).toBe(text);
  });

  it("refuses bytes that are not gzip, and a stream cut short", async () => {
    await expect(new Response(gunzip(counted(new TextEncoder().encode("not gzip at all")).stream)).arrayBuffer()).rejects.toThrow(GzipError);
    const cut = gzipSync("x".repeat(100_000)).subarray(0, 40);
    await expect(new Response(gunzip(counted(cut).stream)).arrayBuffer()).rejects.toThrow(GzipError);
  });
});
