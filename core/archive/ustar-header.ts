/**
 * One ustar header block with its checksum, written by hand: tests craft archives that tar
 * tools refuse to write (climbing names, links, devices). Test-only; runs in Node and workerd.
 */
export function ustarHeader(name: string, size: number, type = "0", extra: { prefix?: string; link?: string } = {}): Uint8Array {
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
  if (extra.link) put(157, extra.link);
  put(257, "ustar\0");
  put(263, "00");
  if (extra.prefix) put(345, extra.prefix);
  const sum = block.reduce((a, b) => a + b, 0);
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}
