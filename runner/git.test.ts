import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckoutError, checkout } from "./git.ts";
import { collect, createRepo, gitIn } from "./testing/harness.ts";

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

describe("checkout of a tag build", () => {
  let tagged: Awaited<ReturnType<typeof createRepo>>;
  beforeAll(async () => {
    tagged = await createRepo([{ "a.txt": "one\n" }, { "a.txt": "two\n" }, { "a.txt": "three\n" }]);
    gitIn(tagged.dir, "tag", "v1.0.0", tagged.shas[0] as string);
    gitIn(tagged.dir, "tag", "-a", "-m", "release 1.1", "v1.1.0", tagged.shas[1] as string);
  });
  afterAll(async () => {
    await tagged.cleanup();
  });
  const opts = () => ({ signal: signal(), output: collect(), requireOnBranch: true });

  it("builds a lightweight tag's commit, fetching refs/tags/<tag>", async () => {
    const dir = join(work, "tag-light");
    const out = { ...opts(), output: collect() };
    const sha = tagged.shas[0] as string;
    expect(await checkout({ url: tagged.dir, commitSha: sha, branch: "v1.0.0", tag: "v1.0.0" }, dir, out)).toBe(sha);
    expect(await readFile(join(dir, "a.txt"), "utf8")).toBe("one\n");
    expect(out.output.text()).toContain("+refs/tags/v1.0.0:refs/tags/v1.0.0");
  });

  it("builds an annotated tag's commit (the tag object peeled)", async () => {
    const dir = join(work, "tag-annotated");
    const sha = tagged.shas[1] as string;
    expect(gitIn(tagged.dir, "rev-parse", "v1.1.0")).not.toBe(sha);
    expect(await checkout({ url: tagged.dir, commitSha: sha, branch: "v1.1.0", tag: "v1.1.0" }, dir, opts())).toBe(sha);
    expect(gitIn(dir, "rev-parse", "HEAD")).toBe(sha);
    // Without a commit, the tag's own commit.
    expect(await checkout({ url: tagged.dir, commitSha: null, branch: "v1.1.0", tag: "v1.1.0" }, join(work, "tag-head"), opts())).toBe(sha);
  });

  it("refuses a commit the tag does not point at, and a tag that does not exist", async () => {
    const elsewhere = tagged.shas[2] as string;
    await expect(checkout({ url: tagged.dir, commitSha: elsewhere, branch: "v1.1.0", tag: "v1.1.0" }, join(work, "tag-moved"), opts())).rejects.toThrow(
      `tag v1.1.0 points at commit ${tagged.shas[1]}, not at ${elsewhere}`,
    );
    await expect(checkout({ url: tagged.dir, commitSha: elsewhere, branch: "v9", tag: "v9" }, join(work, "tag-missing"), opts())).rejects.toThrow(
      "tag v9 could not be fetched",
    );
  });

  it("never hands git a hostile tag name", async () => {
    const marker = join(work, "pwned");
    for (const [i, name] of [`--upload-pack=touch ${marker}`, "../../etc", "v1\u0000x", "v1\nx", "x".repeat(300)].entries()) {
      const out = collect();
      const attempt = checkout({ url: tagged.dir, commitSha: tagged.shas[0] as string, branch: "main", tag: name }, join(work, `hostile-${i}`), {
        signal: signal(),
        output: out,
        requireOnBranch: true,
      });
      await expect(attempt).rejects.toThrow("the tag's name is not a valid git ref name");
      expect(out.text()).toBe("");
    }
    await expect(readFile(marker)).rejects.toThrow();
  });
});
