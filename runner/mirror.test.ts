/**
 * The runner's repository mirrors with the real git: one mirror per repository and scope, only
 * new objects fetched into it, nothing fetched when it has the commit, and each checkout a
 * shallow copy with the remote's URL as its origin.
 */
import { mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckoutError } from "./git.ts";
import { checkoutFromMirror, mirrorPath, pruneMirrors } from "./mirror.ts";
import { collect, createRepo, GIT_ENV, gitIn } from "./testing/harness.ts";

let repo: Awaited<ReturnType<typeof createRepo>>;
let work: string;

beforeAll(async () => {
  repo = await createRepo([{ "a.txt": "one\n", "b.txt": "kept\n" }, { "a.txt": "two\n" }, { "a.txt": "three\n" }]);
  work = await mkdtemp(join(tmpdir(), "sparki-mirror-"));
});

afterAll(async () => {
  await repo.cleanup();
  await rm(work, { recursive: true, force: true });
});

const opts = (root: string, scope: string, output = collect(), env = GIT_ENV) => ({ signal: AbortSignal.timeout(30_000), output, env, root, scope });

/** Runs `fn` with git's trace2 events on; returns how many objects the remote sent (packed). */
async function objectsSent(fn: (env: NodeJS.ProcessEnv) => Promise<unknown>): Promise<number> {
  const trace = join(work, `trace-${Math.random().toString(36).slice(2)}.json`);
  await fn({ ...GIT_ENV, GIT_TRACE2_EVENT: trace });
  const events = (await readFile(trace, "utf8")).split("\n").filter(Boolean);
  // The remote's upload-pack (a local process here) reports what it wrote; the local fetch
  // from the mirror is left out by counting only the first fetch's pack.
  const wrote = events.map((line) => JSON.parse(line) as { key?: string; value?: string }).filter((e) => e.key === "write_pack_file/wrote");
  return Number(wrote[0]?.value ?? 0);
}

describe("checkoutFromMirror", () => {
  it("fetches into the mirror only what it lacks, and nothing at all for a commit it has", async () => {
    const root = join(work, "mirrors-1");
    const first = join(work, "first");
    // commit, tree, a.txt, b.txt
    const firstSent = await objectsSent((env) =>
      checkoutFromMirror({ url: repo.dir, commitSha: repo.shas[0] as string, branch: "main" }, first, opts(root, "project:a", collect(), env)),
    );
    expect(firstSent).toBe(4);
    expect(await readFile(join(first, "b.txt"), "utf8")).toBe("kept\n");

    const second = join(work, "second");
    // The new commit, its tree and the new a.txt: b.txt, unchanged, does not come again.
    const secondSent = await objectsSent((env) =>
      checkoutFromMirror({ url: repo.dir, commitSha: repo.shas[1] as string, branch: "main" }, second, opts(root, "project:a", collect(), env)),
    );
    expect(secondSent).toBe(3);
    expect(await readFile(join(second, "a.txt"), "utf8")).toBe("two\n");

    // With the remote gone, a commit the mirror has still checks out, and nothing was asked of it.
    const moved = `${repo.dir}-away`;
    await rename(repo.dir, moved);
    try {
      const out = collect();
      const third = join(work, "third");
      await checkoutFromMirror({ url: repo.dir, commitSha: repo.shas[1] as string, branch: "main" }, third, opts(root, "project:a", out));
      expect(await readFile(join(third, "a.txt"), "utf8")).toBe("two\n");
      expect(out.text()).toContain("is in this runner's mirror of the repository; nothing fetched");
      expect(out.text()).not.toMatch(/git fetch [^\n]* origin/);
    } finally {
      await rename(moved, repo.dir);
    }
  });

  it("leaves a shallow checkout whose origin is the repository, not the mirror", async () => {
    const root = join(work, "mirrors-2");
    const dir = join(work, "shallow");
    await checkoutFromMirror({ url: repo.dir, commitSha: repo.shas[2] as string, branch: "main" }, dir, opts(root, "project:a"));
    expect(gitIn(dir, "rev-parse", "HEAD")).toBe(repo.shas[2]);
    expect(gitIn(dir, "rev-list", "--count", "HEAD")).toBe("1");
    expect(gitIn(dir, "remote", "get-url", "origin")).toBe(repo.dir);
    expect(await readFile(join(dir, ".git", "config"), "utf8")).not.toContain(root);
  });

  it("checks out a branch's head, and keeps the plan job's check that the commit is on the branch", async () => {
    const root = join(work, "mirrors-3");
    const head = join(work, "head");
    expect(await checkoutFromMirror({ url: repo.dir, commitSha: null, branch: "main" }, head, opts(root, "project:a"))).toBe(repo.shas[2]);

    gitIn(repo.dir, "checkout", "--quiet", "-b", "side", repo.shas[0] as string);
    await writeFile(join(repo.dir, "side.txt"), "side\n");
    gitIn(repo.dir, "add", "side.txt");
    gitIn(repo.dir, "commit", "--quiet", "-m", "side");
    const side = gitIn(repo.dir, "rev-parse", "HEAD");
    gitIn(repo.dir, "checkout", "--quiet", "main");
    // The mirror gets the side commit by a steps job; a plan job naming main must still be refused.
    await checkoutFromMirror({ url: repo.dir, commitSha: side, branch: "side" }, join(work, "side"), opts(root, "project:a"));
    const attempt = checkoutFromMirror({ url: repo.dir, commitSha: side, branch: "main" }, join(work, "borrowed"), {
      ...opts(root, "project:a"),
      requireOnBranch: true,
    });
    await expect(attempt).rejects.toBeInstanceOf(CheckoutError);
    await expect(attempt).rejects.toThrow(/is not on branch main/);
  });

  it("lets concurrent jobs share one mirror", async () => {
    const root = join(work, "mirrors-4");
    const dirs = [0, 1, 2].map((i) => join(work, `together-${i}`));
    const shas = await Promise.all(
      dirs.map((dir, i) => checkoutFromMirror({ url: repo.dir, commitSha: repo.shas[i] as string, branch: "main" }, dir, opts(root, "project:a"))),
    );
    expect(shas).toEqual(repo.shas);
    expect(await readdir(root)).toHaveLength(1);
  });

  it("prunes mirrors nobody has used for long", async () => {
    const root = join(work, "mirrors-5");
    await checkoutFromMirror({ url: repo.dir, commitSha: repo.shas[0] as string, branch: "main" }, join(work, "old"), opts(root, "project:old"));
    await checkoutFromMirror({ url: repo.dir, commitSha: repo.shas[0] as string, branch: "main" }, join(work, "new"), opts(root, "project:new"));
    const old = mirrorPath(root, repo.dir, "project:old");
    const longAgo = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    await utimes(old, longAgo, longAgo);
    expect(await pruneMirrors(root, 14 * 24 * 3600 * 1000)).toEqual([old.slice(root.length + 1)]);
    expect(await readdir(root)).toEqual([mirrorPath(root, repo.dir, "project:new").slice(root.length + 1)]);
  });
});
