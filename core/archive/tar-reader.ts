/**
 * A streaming reader of tar archives (POSIX ustar with pax and GNU long-name headers), written for
 * untrusted input: it holds at most one header block and one chunk of the source at a time, counts
 * every byte it is given against a cap, and refuses (rather than skips) anything that is not a
 * plain file or directory inside the archive's root. `nanotar` parses a whole buffer and `tar` is
 * Node-only, so neither can unpack a site in a Worker isolate within its memory.
 */

export interface TarLimits {
  /** Bytes of the (decompressed) archive as a whole: headers, padding and skipped entries included. */
  maxTotalBytes: number;
  /** Regular files in the archive. */
  maxFiles: number;
  /** Bytes of one file. */
  maxFileBytes: number;
}

/** Why an archive was refused: `limit` when it is over a cap, `invalid` for anything else. */
export class TarError extends Error {
  override readonly name = "TarError";
  constructor(
    readonly kind: "limit" | "invalid",
    message: string,
  ) {
    super(message);
  }
}

/** One regular file; `chunks` yields exactly `size` bytes and must be read (or left) before the next entry. */
export interface TarFile {
  path: string;
  size: number;
  chunks: AsyncIterable<Uint8Array>;
}

const BLOCK = 512;
/** Extended headers (pax, GNU long names) are small in practice; a bigger one is refused. */
const maxMetaBytes = 64 * 1024;
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The bytes of a stream, handed out exactly as asked, with what it holds and has read counted. */
class Source {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #held: Uint8Array = new Uint8Array(0);
  total = 0;
  peakHeld = 0;

  constructor(
    stream: ReadableStream<Uint8Array>,
    readonly maxTotal: number,
  ) {
    this.#reader = stream.getReader();
  }

  async #more(): Promise<boolean> {
    const { done, value } = await this.#reader.read();
    if (done) return false;
    this.total += value.byteLength;
    if (this.total > this.maxTotal) throw new TarError("limit", `the archive inflates to more than ${this.maxTotal} bytes`);
    this.#held = this.#held.byteLength === 0 ? value : concat(this.#held, value);
    this.peakHeld = Math.max(this.peakHeld, this.#held.byteLength);
    return true;
  }

  /** Exactly `n` bytes (n small: a header or an extended header), or null at a clean end. */
  async exact(n: number): Promise<Uint8Array | null> {
    while (this.#held.byteLength < n) {
      if (!(await this.#more())) {
        if (this.#held.byteLength === 0) return null;
        throw new TarError("invalid", "the archive ends in the middle of an entry");
      }
    }
    const out = this.#held.slice(0, n);
    this.#held = this.#held.subarray(n);
    return out;
  }

  /** `span.left` bytes as they arrive, never gathered; `span.left` says what is still unread. */
  async *take(span: { left: number }): AsyncGenerator<Uint8Array> {
    while (span.left > 0) {
      if (this.#held.byteLength === 0 && !(await this.#more())) throw new TarError("invalid", "the archive ends in the middle of a file");
      const part = this.#held.subarray(0, Math.min(span.left, this.#held.byteLength));
      this.#held = this.#held.subarray(part.byteLength);
      span.left -= part.byteLength;
      yield part;
    }
  }

  /** Bytes handed out so far: what was read less what is still held. */
  get consumed(): number {
    return this.total - this.#held.byteLength;
  }

  /** Refuses now when `n` more bytes would carry the archive past its cap, before any is handed out. */
  expect(n: number): void {
    if (this.consumed + n > this.maxTotal) throw new TarError("limit", `the archive inflates to more than ${this.maxTotal} bytes`);
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.take({ left: n })) {
      // Read and dropped: still counted against the cap.
    }
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => undefined);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

function text(block: Uint8Array, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  try {
    return decoder.decode(end === -1 ? field : field.subarray(0, end));
  } catch {
    throw new TarError("invalid", "an entry name is not UTF-8");
  }
}

/** A numeric field: octal text, or GNU base-256 (high bit set) for big values. */
function number(block: Uint8Array, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if ((field[0] ?? 0) & 0x80) {
    let value = (field[0] ?? 0) & 0x7f;
    for (const byte of field.subarray(1)) {
      value = value * 256 + byte;
      if (value > Number.MAX_SAFE_INTEGER) throw new TarError("invalid", "an entry's size is out of range");
    }
    return value;
  }
  const digits = text(block, start, length).trim();
  if (digits === "") return 0;
  if (!/^[0-7]+$/.test(digits)) throw new TarError("invalid", "the archive is not a tar archive (bad number field)");
  return parseInt(digits, 8);
}

function checksumOk(block: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  return number(block, 148, 8) === sum;
}

/** pax records: "<len> <key>=<value>\n", each length counting the whole record. */
function paxRecords(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.byteLength) {
    const space = data.indexOf(0x20, at);
    const length = space === -1 ? NaN : Number(new TextDecoder().decode(data.subarray(at, space)));
    if (!Number.isInteger(length) || length <= 0 || at + length > data.byteLength) throw new TarError("invalid", "a pax header is malformed");
    let record: string;
    try {
      record = decoder.decode(data.subarray(space + 1, at + length - 1));
    } catch {
      throw new TarError("invalid", "a pax header is not UTF-8");
    }
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/**
 * The entry's path inside the archive root ("./a/b" → "a/b"), or why it is refused. An empty
 * result is the root itself (tar writes "./" for it).
 */
export function entryPath(raw: string): { path: string } | { refused: string } {
  if (raw.startsWith("/") || /^[A-Za-z]:/.test(raw)) return { refused: `absolute path ${JSON.stringify(raw)}` };
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(raw)) return { refused: `path ${JSON.stringify(raw)} has a backslash or a control character` };
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return { refused: `path ${JSON.stringify(raw)} leads outside the archive` };
  return { path: parts.join("/") };
}

const FILE_TYPES = new Set(["0", "\0", "7"]);
const REFUSED_TYPES: Record<string, string> = { "1": "a hard link", "2": "a symbolic link", "3": "a character device", "4": "a block device", "6": "a FIFO" };

/** What a read of a whole archive found; `peakHeldBytes` is the most the reader ever held at once. */
export interface TarSummary {
  files: number;
  fileBytes: number;
  totalBytes: number;
  peakHeldBytes: number;
}

/** `skipLinks`: pass over links, devices and FIFOs instead of refusing the archive (a platform upload that never held them). */
export interface ReadTarOptions {
  skipLinks?: boolean;
}

/**
 * Reads an uncompressed tar stream and calls `onFile` for each regular file, one at a time.
 * Directories are passed over; links, devices (unless `skipLinks`), unsafe paths and anything
 * over a limit end the read with a {@link TarError}. The stream is cancelled when the read stops early.
 */
export async function readTar(
  stream: ReadableStream<Uint8Array>,
  limits: TarLimits,
  onFile: (file: TarFile) => Promise<void>,
  options: ReadTarOptions = {},
): Promise<TarSummary> {
  const source = new Source(stream, limits.maxTotalBytes);
  let files = 0;
  let fileBytes = 0;
  let pending: { path?: string; size?: number } = {};
  try {
    for (;;) {
      const block = await source.exact(BLOCK);
      if (!block || block.every((b) => b === 0)) break;
      if (!checksumOk(block)) throw new TarError("invalid", "the archive is not a tar archive (header checksum)");
      const type = String.fromCharCode(block[156] ?? 0);
      const size = pending.size ?? number(block, 124, 12);
      const ustar = text(block, 257, 6) === "ustar";
      const header = ustar && text(block, 345, 155) ? `${text(block, 345, 155)}/${text(block, 0, 100)}` : text(block, 0, 100);
      if (type === "x" || type === "g" || type === "L" || type === "K") {
        if (size > maxMetaBytes) throw new TarError("invalid", `an extended header of ${size} bytes is over ${maxMetaBytes}`);
        const data = size === 0 ? new Uint8Array(0) : await source.exact(size);
        if (!data) throw new TarError("invalid", "the archive ends in an extended header");
        await source.skip(padding(size));
        if (type === "x") {
          const records = paxRecords(data);
          const path = records.get("path");
          const paxSize = records.get("size");
          if (paxSize !== undefined && !/^\d+$/.test(paxSize)) throw new TarError("invalid", "a pax size is not a number");
          pending = { path: path ?? pending.path, size: paxSize === undefined ? pending.size : Number(paxSize) };
        } else if (type === "L") {
          const end = data.indexOf(0);
          pending = { ...pending, path: text(end === -1 ? data : data.subarray(0, end), 0, maxMetaBytes) };
        }
        continue;
      }
      const raw = pending.path ?? header;
      pending = {};
      const found = entryPath(raw);
      if ("refused" in found) throw new TarError("invalid", `the archive holds an ${found.refused}`);
      const refusedType = REFUSED_TYPES[type];
      if (refusedType && !options.skipLinks)
        throw new TarError("invalid", `the archive holds ${refusedType} (${JSON.stringify(raw)}); only files and directories are published`);
      if (type === "5" || (refusedType && options.skipLinks)) {
        await source.skip(size + padding(size));
        continue;
      }
      if (!FILE_TYPES.has(type))
        throw new TarError("invalid", `the archive holds an entry of unsupported type ${JSON.stringify(type)} (${JSON.stringify(raw)})`);
      if (found.path === "") throw new TarError("invalid", "the archive holds a file with an empty name");
      if (size > limits.maxFileBytes) throw new TarError("limit", `file ${found.path} is ${size} bytes, over the limit of ${limits.maxFileBytes}`);
      files += 1;
      if (files > limits.maxFiles) throw new TarError("limit", `the archive holds more than ${limits.maxFiles} files`);
      // A file that would cross the cap is refused before its first byte is written anywhere.
      source.expect(size + padding(size));
      const span = { left: size };
      await onFile({ path: found.path, size, chunks: source.take(span) });
      // Whatever the callback left unread is read here, so the next header is in place.
      await source.skip(span.left);
      fileBytes += size;
      await source.skip(padding(size));
    }
    return { files, fileBytes, totalBytes: source.total, peakHeldBytes: source.peakHeld };
  } finally {
    await source.cancel();
  }
}
