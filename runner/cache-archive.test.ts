/**
 * Cache archives on real files: folders of two roots (home and checkout) packed into one tar
 * and restored into fresh roots, symlinks inside a folder kept, a cached path that is a symlink
 * out of its root left out, and cache paths that try to leave their root refused.
 */
import fs from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { packCache, resolveCachePath, unpackCache, type ResolvedCachePath } from "./cache-archive.ts";

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "sparki-cache-test-"));
});
afterEach(() => rm(work, { recursive: true, force: true }));

async function roots(name: string) {
  const r = { home: join(work, name, "home"), src: join(work, name, "src") };
  await mkdir(r.home, { recursive: true });
  await mkdir(r.src, { recursive: true });
  return r;
}

const resolved = (...paths: string[]) => paths.map((p) => resolveCachePath(p) as ResolvedCachePath);

describe("cache archives", () => {
  it("packs folders of the home and the checkout into one archive and restores both", async () => {
    const from = await roots("from");
    await mkdir(join(from.home, ".npm/_cacache/content"), { recursive: true });
    await writeFile(join(from.home, ".npm/_cacache/content/blob"), "npm tarball");
    await mkdir(join(from.src, "node_modules/.bin"), { recursive: true });
    await mkdir(join(from.src, "node_modules/tool"), { recursive: true });
    await writeFile(join(from.src, "node_modules/tool/cli.js"), "#!/usr/bin/env node\n");
    await symlink("../tool/cli.js", join(from.src, "node_modules/.bin/tool"));
    await writeFile(join(from.home, ".bashrc"), "not cached");
    const paths = resolved("~/.npm", "node_modules", "missing/folder");
    const file = join(work, "cache.tar.gz");
    expect(await packCache(from, paths, file)).toEqual({ packed: ["home/.npm", "src/node_modules"], skipped: [] });

    const to = await roots("to");
    expect(await unpackCache(file, to, paths)).toEqual({ refused: [] });
    expect(await readFile(join(to.home, ".npm/_cacache/content/blob"), "utf8")).toBe("npm tarball");
    expect(await readFile(join(to.src, "node_modules/tool/cli.js"), "utf8")).toContain("node");
    expect(await readlink(join(to.src, "node_modules/.bin/tool"))).toBe("../tool/cli.js");
    await expect(lstat(join(to.home, ".bashrc"))).rejects.toThrow();
  });

  it("packs again when a file vanishes while the folder is read (another npm sharing the runner's ~/.npm)", async () => {
    const from = await roots("from");
    await mkdir(join(from.home, ".npm/_cacache/content"), { recursive: true });
    await mkdir(join(from.home, ".npm/_cacache/tmp"), { recursive: true });
    await writeFile(join(from.home, ".npm/_cacache/content/blob"), "npm tarball");
    await writeFile(join(from.home, ".npm/_cacache/tmp/partial"), "being written");
    // The temporary file is renamed away after tar listed its folder and before tar reads it:
    // the moment the real race has, made certain (tar reaches the file system through `fs`).
    const realLstat = fs.lstat;
    let vanished = false;
    const spy = vi.spyOn(fs, "lstat").mockImplementation(((path: fs.PathLike, ...rest: unknown[]) => {
      if (!vanished && String(path).endsWith("/tmp/partial")) {
        vanished = true;
        fs.unlinkSync(path);
      }
      return (realLstat as (...args: unknown[]) => void)(path, ...rest);
    }) as typeof fs.lstat);
    const file = join(work, "cache.tar.gz");
    try {
      expect(await packCache(from, resolved("~/.npm"), file)).toEqual({ packed: ["home/.npm"], skipped: [] });
    } finally {
      spy.mockRestore();
    }
    expect(vanished).toBe(true);
    const to = await roots("to");
    expect(await unpackCache(file, to, resolved("~/.npm"))).toEqual({ refused: [] });
    expect(await readFile(join(to.home, ".npm/_cacache/content/blob"), "utf8")).toBe("npm tarball");
    await expect(lstat(join(to.home, ".npm/_cacache/tmp/partial"))).rejects.toThrow();
  });

  it("leaves out a cache path that is a symlink leading out of its root", async () => {
    const from = await roots("from");
    const outside = join(work, "outside");
    await mkdir(outside);
    await writeFile(join(outside, "secret"), "runner's own file");
    await symlink(outside, join(from.home, ".npm"));
    const file = join(work, "cache.tar.gz");
    expect(await packCache(from, resolved("~/.npm"), file)).toEqual({ packed: [], skipped: ["home/.npm (a symlink)"] });
  });

  it("refuses cache paths that leave the home or the checkout", () => {
    expect(resolveCachePath("~/.npm")).toEqual({ root: "home", rel: ".npm" });
    expect(resolveCachePath("apps/web/.yarn/cache/")).toEqual({ root: "src", rel: "apps/web/.yarn/cache" });
    expect(resolveCachePath("~")).toEqual({ root: "home", rel: "." });
    for (const bad of ["~/../etc", "../outside", "a/../../b", "/etc", "~//etc", "a\\b"]) expect(resolveCachePath(bad)).toHaveProperty("problem");
  });

  it("throws on an archive that is not a gzipped tar, for the caller to skip it", async () => {
    const to = await roots("to");
    const file = join(work, "garbage.tar.gz");
    await writeFile(file, "this is not gzip at all");
    await expect(unpackCache(file, to, resolved("~/.npm"))).rejects.toThrow();
  });
});
