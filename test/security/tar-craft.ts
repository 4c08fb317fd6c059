/**
 * Hostile archives for the attack tests, made as an attacker would: ustar headers written by
 * hand (tar tools refuse to write climbing names), and bombs streamed through gzip so a 400 MB
 * file of zeros never exists anywhere, only its ~400 KB .tar.gz. Runs in Node and in workerd.
 */
import { ustarHeader } from "../../core/archive/ustar-header.ts";

export interface CraftedEntry {
  name: string;
  /** The file's bytes, or a size of zeros made as they are compressed. */
  data: Uint8Array | { zeros: number };
  type?: string;
  link?: string;
}

/** A .tar.gz of `entries`, streamed: memory holds one 1 MiB block of zeros at most. */
export async function craftTarGz(entries: CraftedEntry[]): Promise<Uint8Array> {
  const zeros = new Uint8Array(1024 * 1024);
  const tar = new ReadableStream<Uint8Array>(
    {
      async start(controller) {
        for (const entry of entries) {
          const size = entry.data instanceof Uint8Array ? entry.data.byteLength : entry.data.zeros;
          controller.enqueue(ustarHeader(entry.name, size, entry.type ?? "0", { link: entry.link }));
          if (entry.data instanceof Uint8Array) controller.enqueue(entry.data);
          else for (let left = size; left > 0; left -= zeros.byteLength) controller.enqueue(zeros.subarray(0, Math.min(left, zeros.byteLength)));
          controller.enqueue(new Uint8Array((512 - (size % 512)) % 512));
        }
        controller.enqueue(new Uint8Array(1024));
        controller.close();
      },
    },
    { highWaterMark: 1 },
  );
  return new Uint8Array(await new Response(tar.pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}
