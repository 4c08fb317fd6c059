import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckoutError, checkout } from "./git.ts";
import type { OutputSink } from "./logs.ts";
import { createRepo, gitIn } from "./testing/harness.ts";

let repo: Awaited<ReturnType<typeof createRepo>>;
let work: string;

beforeAll(async () => {
  repo = await createRepo([{ "a.txt": "one\n" }, { "a.txt": "two\n" }, { "a.txt": "three\n" }]);
  work = await mkdtemp(join(tmpdir(), "sparki-checkout-"));
});

afterAll(async () => {
  await repo.cleanup();
  await rm(work, { recursive: true, force: true });
});

function collect(): OutputSink & { text: () => string } {
  const parts: string[] = [];
  return {
    write: (chunk) => parts.push(Buffer.from(chunk).toString("utf8")) > 0,
    onDrain: (fn) => fn(),
    note: (text) => void parts.push(`${text}\n`),
    end: () => undefined,
    text: () => parts.join(""),
  };
}

const signal = () => AbortSignal.timeout(30_000);

describe("checkout", () => {
  it("checks out a commit that is not the branch tip from a local path, shallowly", async () => {
    const dir = join(work, "local");
    const out = collect();
    await checkout({ url: repo.dir, commitSha: repo.shas[1] as string, branch: "main" }, dir, { signal: signal(), output: out });
    expect(await readFile(join(dir, "a.txt"), "utf8")).toBe("two\n");
    expect(gitIn(dir, "rev-parse", "HEAD")).toBe(repo.shas[1]);
    expect(gitIn(dir, "rev-list", "--count", "HEAD")).toBe("1");
    expect(out.text()).toContain(`$ git fetch --quiet --no-tags --depth 1 origin ${repo.shas[1]}`);
  });

  it("checks out from a file:// URL", async () => {
    const dir = join(work, "file-url");
    await checkout({ url: `file://${repo.dir}`, commitSha: repo.shas[0] as string, branch: "main" }, dir, { signal: signal(), output: collect() });
    expect(await readFile(join(dir, "a.txt"), "utf8")).toBe("one\n");
  });

  it("fails with git's exit code for a commit the repository does not have", async () => {
    const missing = "0123456789abcdef0123456789abcdef01234567";
    const attempt = checkout({ url: repo.dir, commitSha: missing, branch: "main" }, join(work, "missing"), { signal: signal(), output: collect() });
    await expect(attempt).rejects.toBeInstanceOf(CheckoutError);
    await expect(attempt).rejects.toThrow(`commit ${missing} could not be fetched`);
  });

  it("refuses URLs git must never see: credentials, option injection", async () => {
    for (const url of ["https://user:pw@example.com/r.git", "--upload-pack=touch /tmp/x"]) {
      await expect(
        checkout({ url, commitSha: repo.shas[0] as string, branch: "main" }, join(work, "bad"), { signal: signal(), output: collect() }),
      ).rejects.toThrow(/repository URL/);
    }
  });

  it("refuses, when asked, a commit that is not on the branch the build names", async () => {
    const side = await createRepo([{ "a.txt": "one\n" }, { "a.txt": "two\n" }]);
    try {
      gitIn(side.dir, "checkout", "--quiet", "-b", "feature", side.shas[0] as string);
      gitIn(side.dir, "commit", "--quiet", "--allow-empty", "-m", "feature work");
      const feature = gitIn(side.dir, "rev-parse", "HEAD");
      gitIn(side.dir, "checkout", "--quiet", "main");
      const borrowed = checkout({ url: side.dir, commitSha: feature, branch: "main" }, join(work, "borrowed"), {
        signal: signal(),
        output: collect(),
        requireOnBranch: true,
      });
      await expect(borrowed).rejects.toThrow(`commit ${feature} is not on branch main`);
      // An older commit of the branch is on it; without the check any fetched commit is accepted.
      await checkout({ url: side.dir, commitSha: side.shas[0] as string, branch: "main" }, join(work, "ancestor"), {
        signal: signal(),
        output: collect(),
        requireOnBranch: true,
      });
      await checkout({ url: side.dir, commitSha: feature, branch: "main" }, join(work, "unchecked"), { signal: signal(), output: collect() });
    } finally {
      await side.cleanup();
    }
  });
});
