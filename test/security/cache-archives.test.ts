/**
 * Hostile cache archives on restore (runner/cache-archive.ts), made by hand as an attacker who
 * got an entry stored would: '..' names, symlinks out of the root (absolute and climbing) with a
 * file written through them, a hard link to a file outside, links to the root's files beside the
 * cache (~/.ssh), a device, and a file outside the job's cache paths. Only the one honest entry lands; nothing outside the roots changes. Also:
 * cache paths that try to leave the home or the checkout are refused by the contract and the runner.
 */
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobCache } from "../../core/contracts/runner.ts";
import { resolveCachePath, unpackCache, type ResolvedCachePath } from "../../runner/cache-archive.ts";
import { craftTarGz } from "./tar-craft.ts";

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "sparki-cache-attack-"));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const text = (s: string) => new TextEncoder().encode(s);

describe("hostile cache archives", () => {
  it("restores only the honest entry inside the job's cache paths", async () => {
    const victim = join(work, "victim");
    await mkdir(victim);
    await writeFile(join(victim, "file"), "untouched");
    const roots = { home: join(work, "job/home"), src: join(work, "job/src") };
    const archive = await craftTarGz([
      { name: "home/.npm/ok", data: text("honest") },
      { name: "home/.npm/../../escape", data: text("climbed") },
      { name: "home/.npm/abs", data: new Uint8Array(0), type: "2", link: victim },
      { name: "home/.npm/abs/pwned", data: text("through an absolute symlink") },
      { name: "home/.npm/up", data: new Uint8Array(0), type: "2", link: "../../../victim" },
      { name: "home/.npm/up/pwned", data: text("through a climbing symlink") },
      { name: "home/.npm/hard", data: new Uint8Array(0), type: "1", link: join(victim, "file") },
      { name: "home/.npm/dev", data: new Uint8Array(0), type: "3" },
      { name: "home/.npm/key", data: new Uint8Array(0), type: "1", link: "home/.ssh/id_rsa" },
      { name: "home/.npm/ssh", data: new Uint8Array(0), type: "2", link: "../.ssh" },
      { name: "home/.bashrc", data: text("outside the cache paths") },
      { name: "src/.git/hooks/post-checkout", data: text("not a cache path either") },
    ]);
    const file = join(work, "evil.tar.gz");
    await writeFile(file, archive);
    const paths = [resolveCachePath("~/.npm") as ResolvedCachePath];
    const { refused } = await unpackCache(file, roots, paths);

    expect(await readFile(join(roots.home, ".npm/ok"), "utf8")).toBe("honest");
    expect(refused.join("\n")).toMatch(/escape: a '\.\.' path/);
    expect(refused.join("\n")).toMatch(/abs: a symlink to an absolute path/);
    expect(refused.join("\n")).toMatch(/up: a symlink out of its root/);
    expect(refused.join("\n")).toMatch(/hard: a hard link out of its root/);
    expect(refused.join("\n")).toMatch(/dev: a CharacterDevice entry/);
    expect(refused.join("\n")).toMatch(/key: a hard link out of the job's cache paths/);
    expect(refused.join("\n")).toMatch(/ssh: a symlink out of the job's cache paths/);
    expect(refused.join("\n")).toMatch(/\.bashrc: outside the job's cache paths/);
    // Nothing outside the roots changed, and no link was made.
    expect(await readdir(victim)).toEqual(["file"]);
    expect(await readFile(join(victim, "file"), "utf8")).toBe("untouched");
    await expect(lstat(join(work, "escape"))).rejects.toThrow();
    await expect(lstat(join(work, "job/escape"))).rejects.toThrow();
    for (const name of ["abs", "up", "hard", "key", "ssh"]) {
      const info = await lstat(join(roots.home, ".npm", name)).catch(() => null);
      expect(info?.isSymbolicLink() ?? false).toBe(false);
    }
    await expect(lstat(join(roots.home, ".bashrc"))).rejects.toThrow();
    await expect(lstat(join(roots.src, ".git"))).rejects.toThrow();
  });

  it("throws on a truncated archive, for the caller to skip it", async () => {
    const archive = await craftTarGz([{ name: "home/.npm/big", data: { zeros: 4 * 1024 * 1024 } }]);
    const file = join(work, "cut.tar.gz");
    await writeFile(file, archive.subarray(0, Math.floor(archive.byteLength / 2)));
    const roots = { home: join(work, "job/home"), src: join(work, "job/src") };
    await expect(unpackCache(file, roots, [resolveCachePath("~/.npm") as ResolvedCachePath])).rejects.toThrow();
  });

  it("refuses cache paths that leave the home or the checkout, in the contract and in the runner", () => {
    for (const path of ["../outside", "~/../etc", "/etc/passwd", "a/../../b", "C:/x", "a\\..\\b"]) {
      expect(JobCache.safeParse({ key: "k", restoreKeys: [], paths: [path] }).success, path).toBe(false);
    }
    for (const path of ["../outside", "~/../etc", "a/../../b", "~//etc"]) expect(resolveCachePath(path), path).toHaveProperty("problem");
  });
});
