/**
 * Hostile archives for the attack tests, made as an attacker would: ustar headers written by
 * hand (tar tools refuse to write climbing names), and bombs streamed through gzip so a 400 MB
 * file of zeros never exists anywhere, only its ~400 KB .tar.gz. Runs in Node and in workerd.
 */

/** One ustar header block with its checksum. */
export function ustarHeader(name: string, size: number, type = "0", link = ""): Uint8Array {
  const block = new Uint8Array(512);
  const put = (at: number, value: string) => block.set(new TextEncoder().encode(value), at);
  put(0, name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, `${size.toString(8).padStart(11, "0")}\0`);
  put(136, "00000000000\0");
  put(148, "        ");
  put(156, type);
  put(157, link);
  put(257, "ustar\0");
  put(263, "00");
  const sum = block.reduce((a, b) => a + b, 0);
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

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
  const tar = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const entry of entries) {
        const size = entry.data instanceof Uint8Array ? entry.data.byteLength : entry.data.zeros;
        controller.enqueue(ustarHeader(entry.name, size, entry.type ?? "0", entry.link ?? ""));
        if (entry.data instanceof Uint8Array) controller.enqueue(entry.data);
        else for (let left = size; left > 0; left -= zeros.byteLength) controller.enqueue(zeros.subarray(0, Math.min(left, zeros.byteLength)));
        controller.enqueue(new Uint8Array((512 - (size % 512)) % 512));
      }
      controller.enqueue(new Uint8Array(1024));
      controller.close();
    },
  }, { highWaterMark: 1 });
  return new Uint8Array(await new Response(tar.pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}
