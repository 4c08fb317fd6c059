/**
 * Attacker: a tenant whose job names the same repository URL as another tenant's, hoping the
 * runner serves it objects the other tenant's credential fetched (a private commit, a private
 * branch's history). Mirrors are per URL *and* checkout scope (the project), and so are the build
 * folders a later job of a build reuses; with the remote out of its reach, the attacker's job gets
 * nothing.
 */
import { mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckoutError } from "../../runner/git.ts";
import { checkoutFromMirror, mirrorPath } from "../../runner/mirror.ts";
import { createRepo, GIT_ENV } from "../../runner/testing/harness.ts";
import { Workspaces } from "../../runner/workspace.ts";

let repo: Awaited<ReturnType<typeof createRepo>>;
let work: string;

beforeAll(async () => {
  repo = await createRepo([{ "secret.txt": "tenant A's private code\n" }]);
  work = await mkdtemp(join(tmpdir(), "sparki-mirror-attack-"));
});
afterAll(async () => {
  await repo.cleanup();
  await rm(work, { recursive: true, force: true });
});

const quiet = { write: () => true, onDrain: (fn: () => void) => fn(), note: () => undefined, end: () => undefined };
const opts = (scope: string) => ({ signal: AbortSignal.timeout(30_000), output: quiet, env: GIT_ENV, root: join(work, "mirrors"), scope });

describe("a repository mirror shared across tenants", () => {
  it("never serves one project's fetched objects to another project's job for the same URL", async () => {
    const sha = repo.shas[0] as string;
    // Tenant A's job fetches the commit (in real life, with A's clone credential).
    await checkoutFromMirror({ url: repo.dir, commitSha: sha, branch: "main" }, join(work, "a-1"), opts("project:tenant-a"));
    expect(mirrorPath(join(work, "mirrors"), repo.dir, "project:tenant-b")).not.toBe(mirrorPath(join(work, "mirrors"), repo.dir, "project:tenant-a"));

    // Now the remote refuses: B has no credential for it. (A's mirror still has the commit.)
    const away = `${repo.dir}-unreachable`;
    await rename(repo.dir, away);
    try {
      const attempt = checkoutFromMirror({ url: repo.dir, commitSha: sha, branch: "main" }, join(work, "b-1"), opts("project:tenant-b"));
      await expect(attempt).rejects.toBeInstanceOf(CheckoutError);
      await expect(attempt).rejects.toThrow(`commit ${sha} could not be fetched`);
      // The same request in A's scope is served from A's mirror: the refusal above is the scope's doing.
      await checkoutFromMirror({ url: repo.dir, commitSha: sha, branch: "main" }, join(work, "a-2"), opts("project:tenant-a"));
    } finally {
      await rename(away, repo.dir);
    }
  });

  it("never hands one project's build folder to another's job, even with the same build id and URL", async () => {
    const workspaces = new Workspaces(join(work, "builds"));
    const a = await workspaces.acquire({ buildId: "b1", url: repo.dir, scope: "project:tenant-a" });
    await a?.save({ commit: repo.shas[0] as string, installed: "linux-x64-node/build-b1/deps-npm-x" });
    a?.release();
    const b = await workspaces.acquire({ buildId: "b1", url: repo.dir, scope: "project:tenant-b" });
    expect(b?.dir).not.toBe(a?.dir);
    expect(b?.state).toEqual({ commit: null, installed: null });
    b?.release();
  });
});
