/**
 * gzip decompression that cannot run ahead of its reader. workerd's DecompressionStream takes
 * all of its input at once and queues every inflated byte (measured: a 550 KB archive of 540 MiB
 * of zeros took workerd past 1.2 GB while a reader drained it 4 KiB at a time), so it gives no
 * bound against a bomb. fflate's Gunzip inflates synchronously what it is pushed: pushing 1 KiB
 * only when the reader wants more keeps what waits to about a MiB (deflate reaches ~1032:1).
 */
import { Gunzip } from "fflate";

/** Compressed bytes inflated per step (≈1 MiB of output at worst). */
const pieceBytes = 1024;

/** The stream is not gzip, or ends early. */
export class GzipError extends Error {
  override readonly name = "GzipError";
}

/** The inflated bytes of a gzip stream, produced only as they are read. */
export function gunzip(stream: ReadableStream<Uint8Array>, size = pieceBytes): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  const inflater = new Gunzip();
  const ready: Uint8Array[] = [];
  let ended = false;
  inflater.ondata = (chunk, final) => {
    if (chunk.byteLength > 0) ready.push(chunk);
    if (final) ended = true;
  };
  const push = (bytes: Uint8Array, final = false) => {
    try {
      inflater.push(bytes, final);
    } catch (err) {
      throw new GzipError(err instanceof Error ? err.message : String(err));
    }
  };
  let held: Uint8Array = new Uint8Array(0);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (ready.length === 0 && !ended) {
          if (held.byteLength === 0) {
            const { done, value } = await reader.read();
            if (done) {
              push(new Uint8Array(0), true);
              break;
            }
            held = value;
          }
          push(held.subarray(0, size));
          held = held.subarray(Math.min(size, held.byteLength));
        }
        const next = ready.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
      async cancel(reason) {
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
