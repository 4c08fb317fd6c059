/**
 * Build folders: one job holds a build's folder at a time, what it holds survives to the build's
 * next job, and idle folders beyond the newest few are removed (bounded disk use).
 */
import { mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Workspaces } from "./workspace.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sparki-builds-"));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const build = (buildId: string) => ({ buildId, url: "https://git.example/acme/shop.git", scope: "project:p1" });

describe("Workspaces", () => {
  it("hands a build's folder to one job at a time and keeps what it holds for the next", async () => {
    const workspaces = new Workspaces(root);
    const first = await workspaces.acquire(build("b1"));
    expect(first?.state).toEqual({ commit: null, installed: null });
    expect(await workspaces.acquire(build("b1"))).toBeNull();
    await writeFile(join(first?.dir as string, "marker"), "x");
    await first?.save({ commit: "a".repeat(40), installed: "k" });
    first?.release();

    const second = await workspaces.acquire(build("b1"));
    expect(second?.dir).toBe(first?.dir);
    expect(second?.state).toEqual({ commit: "a".repeat(40), installed: "k" });
    expect(await readdir(second?.dir as string)).toEqual(["marker"]);
    await second?.reset();
    expect(second?.state).toEqual({ commit: null, installed: null });
    expect(await readdir(second?.dir as string)).toEqual([]);
    second?.release();
  });

  it("removes idle build folders beyond the newest `keep`, never one in use", async () => {
    const workspaces = new Workspaces(root, 2);
    const held = await workspaces.acquire(build("running"));
    const dirs: string[] = [];
    for (const [i, id] of ["b1", "b2", "b3", "b4"].entries()) {
      const ws = await workspaces.acquire(build(id));
      ws?.release();
      const base = dirname(ws?.dir as string);
      dirs.push(base);
      // Older first: b4 is the most recently used.
      const at = new Date(Date.now() - (10 - i) * 60_000);
      await utimes(base, at, at);
    }
    const oldest = new Date(Date.now() - 3600_000);
    await utimes(dirname(held?.dir as string), oldest, oldest);
    expect(await workspaces.prune()).toBe(2);
    const left = (await readdir(root)).sort();
    expect(left).toEqual([dirname(held?.dir as string), dirs[2], dirs[3]].map((d) => (d as string).slice(root.length + 1)).sort());
    held?.release();
  });
});
