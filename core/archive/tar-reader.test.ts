import { createReadStream, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { create as createTar } from "tar";
import { afterAll, describe, expect, it } from "vitest";
import { entryPath, readTar, TarError, type TarLimits } from "./tar-reader.ts";
import { ustarHeader } from "./ustar-header.ts";

const roomy: TarLimits = { maxTotalBytes: 1 << 30, maxFiles: 1000, maxFileBytes: 1 << 30 };

/** An archive of (header, data) pairs, padded, with the two zero blocks at the end. */
function archive(...entries: [Uint8Array, Uint8Array?][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [h, data] of entries) {
    parts.push(h);
    if (data && data.byteLength > 0) parts.push(data, new Uint8Array((512 - (data.byteLength % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}

/** A stream of `bytes` in chunks of `size`, as a decompressor would hand them out. */
function chunked(bytes: Uint8Array, size = 7000): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>, limits = roomy) {
  const files: Record<string, string> = {};
  const summary = await readTar(stream, limits, async (file) => {
    const parts: Uint8Array[] = [];
    for await (const chunk of file.chunks) parts.push(chunk.slice());
    files[file.path] = Buffer.concat(parts).toString();
  });
  return { files, summary };
}

async function refusal(stream: ReadableStream<Uint8Array>, limits = roomy): Promise<TarError> {
  const err = await readAll(stream, limits).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TarError);
  return err as TarError;
}

/** A directory as the runner packs it (runner/artifacts.ts), as a web stream of the .tar.gz. */
async function packed(dir: string): Promise<ReadableStream<Uint8Array>> {
  const file = join(dir, "..", `${dir.split("/").pop()}.tar.gz`);
  await createTar({ gzip: true, cwd: dir, portable: true, file }, ["."]);
  dirs.push(file);
  return Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("readTar", () => {
  it("reads what the runner's tar writes: nested files, long and non-ASCII names, empty files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tar-reader-"));
    dirs.push(dir);
    const long = `${"deep/".repeat(30)}file-with-a-long-name.js`;
    mkdirSync(join(dir, long, ".."), { recursive: true });
    writeFileSync(join(dir, long), "long");
    writeFileSync(join(dir, "index.html"), "<h1>hi</h1>");
    writeFileSync(join(dir, "empty.txt"), "");
    writeFileSync(join(dir, "café.txt"), "crème");
    const gz = await packed(dir);
    const { files, summary } = await readAll(gz.pipeThrough(new DecompressionStream("gzip")));
    expect(files).toEqual({ [long]: "long", "index.html": "<h1>hi</h1>", "empty.txt": "", "café.txt": "crème" });
    expect(summary.files).toBe(4);
  });

  it("holds one chunk at a time however big the files are", async () => {
    const big = new Uint8Array(3 * 1024 * 1024).fill(97);
    const { summary } = await readAll(chunked(archive([ustarHeader("a.bin", big.byteLength), big], [ustarHeader("b.bin", big.byteLength), big]), 64 * 1024));
    expect(summary.fileBytes).toBe(2 * big.byteLength);
    // A header block and one source chunk at most, never a file.
    expect(summary.peakHeldBytes).toBeLessThanOrEqual(64 * 1024 + 512);
  });

  it("keeps entries in place when the callback reads only part of a file", async () => {
    const seen: string[] = [];
    await readTar(chunked(archive([ustarHeader("a", 3000), new Uint8Array(3000)], [ustarHeader("b", 2), bytes("ok")]), 100), roomy, async (file) => {
      seen.push(file.path);
      for await (const _ of file.chunks) break;
    });
    expect(seen).toEqual(["a", "b"]);
  });

  it("uses pax and GNU long names and the ustar prefix", async () => {
    const pax = bytes("21 path=pax/name.txt\n");
    const gnu = bytes("gnu/long-name.txt\0");
    const { files } = await readAll(
      chunked(
        archive(
          [ustarHeader("PaxHeader", pax.byteLength, "x"), pax],
          [ustarHeader("short", 1), bytes("p")],
          [ustarHeader("././@LongLink", gnu.byteLength, "L"), gnu],
          [ustarHeader("trunc", 1), bytes("g")],
          [ustarHeader("file.txt", 1, "0", { prefix: "pre/fix" }), bytes("u")],
        ),
      ),
    );
    expect(files).toEqual({ "pax/name.txt": "p", "gnu/long-name.txt": "g", "pre/fix/file.txt": "u" });
  });

  it.each([
    ["a parent segment", ustarHeader("../escape.txt", 1)],
    ["a parent segment inside", ustarHeader("a/../../b", 1)],
    ["an absolute path", ustarHeader("/etc/passwd", 1)],
    ["a drive letter", ustarHeader("C:/x", 1)],
    ["a backslash", ustarHeader("..\\x", 1)],
    ["a symlink", ustarHeader("link", 0, "2", { link: "/etc/passwd" })],
    ["a hard link", ustarHeader("hard", 0, "1", { link: "index.html" })],
    ["a character device", ustarHeader("tty", 0, "3")],
    ["a block device", ustarHeader("sda", 0, "4")],
    ["a FIFO", ustarHeader("fifo", 0, "6")],
  ])("refuses %s", async (_what, h) => {
    const err = await refusal(chunked(archive([h, new Uint8Array(h[156] === 0x30 ? 1 : 0)])));
    expect(err.kind).toBe("invalid");
  });

  it("with skipLinks passes over links, devices and FIFOs and reads the files around them, still refusing a traversal", async () => {
    const kept = archive(
      [ustarHeader("a.txt", 1), bytes("a")],
      [ustarHeader("link", 0, "2", { link: "/etc/passwd" })],
      [ustarHeader("hard", 0, "1", { link: "a.txt" })],
      [ustarHeader("tty", 0, "3")],
      [ustarHeader("fifo", 0, "6")],
      [ustarHeader("b.txt", 1), bytes("b")],
    );
    const files: string[] = [];
    const summary = await readTar(chunked(kept), roomy, async (file) => void files.push(file.path), { skipLinks: true });
    expect(files).toEqual(["a.txt", "b.txt"]);
    expect(summary.files).toBe(2);
    const climbing = archive([ustarHeader("../link", 0, "2", { link: "x" })]);
    await expect(readTar(chunked(climbing), roomy, async () => {}, { skipLinks: true })).rejects.toThrow(/outside/);
  });

  it("refuses a traversal hidden in a pax path", async () => {
    const pax = bytes("19 path=../../evil\n");
    expect((await refusal(chunked(archive([ustarHeader("PaxHeader", pax.byteLength, "x"), pax], [ustarHeader("harmless", 1), bytes("x")])))).message).toMatch(
      /outside/,
    );
  });

  it("refuses a real symlink that tar packed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tar-reader-"));
    dirs.push(dir);
    writeFileSync(join(dir, "index.html"), "x");
    symlinkSync("/etc/passwd", join(dir, "passwd"));
    const gz = await packed(dir);
    expect((await refusal(gz.pipeThrough(new DecompressionStream("gzip")))).message).toMatch(/symbolic link/);
  });

  it("stops at each limit: one file's size (before reading it), file count, total bytes", async () => {
    let read = 0;
    const counting = chunked(archive([ustarHeader("big", 5000), new Uint8Array(5000)]), 512).pipeThrough(
      new TransformStream({ transform: (c, ctl) => ((read += c.byteLength), ctl.enqueue(c)) }),
    );
    const size = await refusal(counting, { ...roomy, maxFileBytes: 4096 });
    expect([size.kind, size.message]).toEqual(["limit", "file big is 5000 bytes, over the limit of 4096"]);
    expect(read).toBeLessThan(5000);
    const many = archive(...Array.from({ length: 4 }, (_, i): [Uint8Array, Uint8Array] => [ustarHeader(`f${i}`, 1), bytes("x")]));
    expect((await refusal(chunked(many), { ...roomy, maxFiles: 3 })).message).toMatch(/more than 3 files/);
    const total = await refusal(chunked(archive([ustarHeader("a", 3000), new Uint8Array(3000)], [ustarHeader("b", 3000), new Uint8Array(3000)])), {
      ...roomy,
      maxTotalBytes: 5000,
    });
    expect([total.kind, total.message]).toEqual(["limit", "the archive inflates to more than 5000 bytes"]);
  });

  it("refuses a file that would cross the total cap before handing any of its bytes out", async () => {
    const opened: string[] = [];
    const bomb = archive([ustarHeader("a", 3000), new Uint8Array(3000)], [ustarHeader("b", 3000), new Uint8Array(3000)]);
    const refused = await readTar(chunked(bomb, 512), { ...roomy, maxTotalBytes: 5000 }, async (file) => {
      opened.push(file.path);
      for await (const _ of file.chunks) {
        // drained
      }
    }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TarError);
    expect((refused as TarError).message).toBe("the archive inflates to more than 5000 bytes");
    // "a" (3,584 bytes with header and padding) fits; "b" would end past 5,000 and is never opened.
    expect(opened).toEqual(["a"]);
  });

  it("refuses what is not a tar archive, and one cut short", async () => {
    expect((await refusal(chunked(new Uint8Array(600).fill(1)))).message).toMatch(/not a tar/);
    const cut = archive([ustarHeader("a", 4000), new Uint8Array(4000)]).slice(0, 2000);
    expect((await refusal(chunked(cut))).message).toMatch(/ends in the middle/);
  });
});

describe("entryPath", () => {
  it("normalises ./ and repeated slashes and keeps the root empty", () => {
    expect(entryPath("./a//b/./c")).toEqual({ path: "a/b/c" });
    expect(entryPath("./")).toEqual({ path: "" });
    expect(entryPath("a/..b/c..")).toEqual({ path: "a/..b/c.." });
  });
});
